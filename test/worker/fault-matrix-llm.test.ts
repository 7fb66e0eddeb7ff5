// The fault matrix of the LLM chain: the REAL adapters (openai, @anthropic-ai/sdk, groq-sdk, built by the registry
// as the worker builds them) against the fake vendors, every primary × every fault. What each case proves: the answer
// is the scripted one exactly (a continuation joins the delivered text with nothing lost or said twice), the backup
// was asked the right thing (the same request, or "continue from here" by prefill or by instruction), each vendor
// saw exactly the requests it should, the outcome records carry the right classes, and the next request takes the
// right path (a bad key is skipped for good, a 429 waits out its retry-after, anything else is tried again).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorClass } from '../../functions/contract.ts';
import { BreakerRegistry, DEFAULT_BREAKER_POLICY } from '../../worker/fallback/breaker.ts';
import { streamAnswer, type AnswerEvent, type LlmChainOptions } from '../../worker/fallback/llm-chain.ts';
import { CONTINUE_INSTRUCTION } from '../../worker/providers/llm/continuation.ts';
import type { ProviderChains } from '../../worker/providers/registry.ts';
import type { LlmRequest } from '../../worker/providers/types.ts';
import type { QueuedFault } from '../fakes/kit/faults.ts';
import { splitIntoTokens } from '../fakes/kit/script.ts';
import type { RecordedRequest } from '../fakes/kit/server.ts';
import { waitFor } from '../support/wait.ts';
import {
  buildFakeChains,
  collect,
  expectWireEnd,
  jsonBody,
  manualClock,
  outcomeLog,
  outcomeSummary,
  requestsOn,
  startVendorFakes,
  type VendorFakes,
  type WireEnd,
} from './fault-matrix-support.ts';

type LlmVendor = 'openai' | 'anthropic' | 'groq';

const SYSTEM = 'Be brief.';
const QUESTION = 'What is the capital of France?';
const REQUEST: LlmRequest = { system: SYSTEM, messages: [{ role: 'user', text: QUESTION }] };
const REPLY = 'Paris is the capital of France. It sits on the Seine, and about two million people live there.';
const NEXT_REPLY = 'Lyon is the third largest city.';
const POLICY = { firstChunkTimeoutMs: 500, stallTimeoutMs: 300 };
/** Far beyond every deadline in POLICY: a late vendor is only ever cut short. */
const LATE_MS = 10_000;
/** Text pieces the primary streams before a mid-stream fault: "Paris is the capital" (the last word still held). */
const PIECES_BEFORE_FAULT = 4;

const ROUTE: Record<LlmVendor, string> = { openai: 'chat', anthropic: 'messages', groq: 'chat' };
/** Stream frames before the first text piece: OpenAI/Groq's role chunk; Anthropic's message_start, content_block_start, ping. */
const FRAMES_BEFORE_TEXT: Record<LlmVendor, number> = { openai: 1, anthropic: 3, groq: 1 };
/** Rotated so every vendor is a backup once: anthropic resumes by prefill, openai and groq by instruction. */
const ORDER: Record<LlmVendor, [LlmVendor, LlmVendor, LlmVendor]> = {
  openai: ['openai', 'anthropic', 'groq'],
  anthropic: ['anthropic', 'groq', 'openai'],
  groq: ['groq', 'openai', 'anthropic'],
};

interface FaultCase {
  name: string;
  /** The primary's fault; absent: the primary's host refuses connections. */
  fault?(vendor: LlmVendor): QueuedFault;
  errorClass: ErrorClass;
  /** Text pieces delivered before the fault (0: it fails before saying anything). */
  pieces: number;
  wire?: WireEnd;
  status?: number;
  retryAfterMs?: number;
  only?: LlmVendor;
}

const afterText = (kind: 'stallAfter' | 'destroyAfter' | 'truncateAfter' | 'midStreamError') => (vendor: LlmVendor): QueuedFault => {
  const chunks = FRAMES_BEFORE_TEXT[vendor] + PIECES_BEFORE_FAULT;
  return kind === 'stallAfter' ? { kind, chunks, ms: LATE_MS } : { kind, chunks };
};

const CASES: FaultCase[] = [
  { name: '401 bad key', fault: () => ({ kind: 'status', status: 401 }), errorClass: 'permanent', pieces: 0, wire: 'status', status: 401 },
  {
    name: '429 with retry-after',
    fault: () => ({ kind: 'status', status: 429, retryAfterS: 2 }),
    errorClass: 'transient',
    pieces: 0,
    wire: 'status',
    status: 429,
    retryAfterMs: 2_000,
  },
  { name: '500', fault: () => ({ kind: 'status', status: 500 }), errorClass: 'transient', pieces: 0, wire: 'status', status: 500 },
  { name: '503 HTML page', fault: () => ({ kind: 'status', status: 503 }), errorClass: 'transient', pieces: 0, wire: 'status', status: 503 },
  { name: '529 overloaded', fault: () => ({ kind: 'status', status: 529 }), errorClass: 'transient', pieces: 0, wire: 'status', status: 529, only: 'anthropic' },
  { name: 'reset before any response', fault: () => ({ kind: 'reset' }), errorClass: 'transient', pieces: 0, wire: 'serverDestroyed' },
  { name: 'headers later than the deadline', fault: () => ({ kind: 'delayHeaders', ms: LATE_MS }), errorClass: 'timeout', pieces: 0, wire: 'clientAborted' },
  { name: 'first chunk later than the deadline', fault: () => ({ kind: 'delayFirstChunk', ms: LATE_MS }), errorClass: 'timeout', pieces: 0, wire: 'clientAborted' },
  // The one piece that came ("Paris") was still held, waiting for its word to end: nobody heard anything yet.
  { name: 'socket destroyed before a whole word', fault: (v) => ({ kind: 'destroyAfter', chunks: FRAMES_BEFORE_TEXT[v] + 1 }), errorClass: 'transient', pieces: 1, wire: 'serverDestroyed' },
  { name: 'stall after some text', fault: afterText('stallAfter'), errorClass: 'timeout', pieces: PIECES_BEFORE_FAULT, wire: 'clientAborted' },
  { name: 'socket destroyed after some text', fault: afterText('destroyAfter'), errorClass: 'transient', pieces: PIECES_BEFORE_FAULT, wire: 'serverDestroyed' },
  { name: 'stream cut without terminator after some text', fault: afterText('truncateAfter'), errorClass: 'truncated', pieces: PIECES_BEFORE_FAULT, wire: 'finished' },
  { name: 'in-stream error event after some text', fault: afterText('midStreamError'), errorClass: 'transient', pieces: PIECES_BEFORE_FAULT, wire: 'finished' },
  { name: 'connection refused', errorClass: 'transient', pieces: 0 },
];

const PRIMARIES: LlmVendor[] = ['openai', 'anthropic', 'groq'];
const MATRIX = PRIMARIES.flatMap((primary) =>
  CASES.filter((c) => c.only === undefined || c.only === primary).map((c) => [primary, c.name, c] as const),
);

/** What the caller has heard when `pieces` text pieces arrived: whole words only (the last one is still held). */
function deliveredAfter(pieces: number): string {
  const received = splitIntoTokens(REPLY).slice(0, pieces).join('');
  return received.slice(0, received.search(/\s\S*$/) + 1);
}

/** The backup's scripted continuation, worded the way each kind of vendor continues. */
function continuation(backup: LlmVendor, delivered: string): string {
  const rest = REPLY.slice(delivered.length);
  // A prefilled model carries on after the trimmed prefill, so its first word comes with its space.
  return backup === 'anthropic' ? ` ${rest}` : rest;
}

const textOf = (events: AnswerEvent[]) => events.map((e) => (e.type === 'text' ? e.text : '')).join('');

let fakes: VendorFakes;
beforeAll(async () => {
  fakes = await startVendorFakes();
});
afterEach(() => fakes.reset());
afterAll(async () => {
  await fakes?.close();
});

async function ask(chains: ProviderChains, breakers: BreakerRegistry, extra: Partial<LlmChainOptions> = {}) {
  const log = outcomeLog();
  const options: LlmChainOptions = { links: chains.llm, breakers, policy: POLICY, onOutcome: log.record, ...extra };
  const { events, error } = await collect(streamAnswer(options, REQUEST, AbortSignal.timeout(15_000)));
  return { events, error, outcomes: log.outcomes, text: textOf(events), done: events.find((e) => e.type === 'done') };
}

const chatOf = (vendor: LlmVendor) => requestsOn(fakes[vendor], ROUTE[vendor]);

/** The backup was asked the same question, plus — after delivered text — to carry on from it in its vendor's way. */
function expectAskedToContinue(vendor: LlmVendor, request: RecordedRequest | undefined, delivered: string): void {
  const body = jsonBody(request);
  if (vendor === 'anthropic') {
    expect(body['system']).toBe(SYSTEM);
    const prefill = delivered ? [{ role: 'assistant', content: delivered.trimEnd() }] : [];
    expect(body['messages']).toEqual([{ role: 'user', content: QUESTION }, ...prefill]);
    return;
  }
  const resume = delivered
    ? [
        { role: 'assistant', content: delivered.trimEnd() },
        { role: 'user', content: CONTINUE_INSTRUCTION },
      ]
    : [];
  expect(body['messages']).toEqual([{ role: 'system', content: SYSTEM }, { role: 'user', content: QUESTION }, ...resume]);
}

describe('LLM fault matrix: every primary × every fault', () => {
  it.each(MATRIX)('%s primary, %s', async (primary, _name, c) => {
    const [, backup, third] = ORDER[primary];
    const clock = manualClock();
    const breakers = new BreakerRegistry(DEFAULT_BREAKER_POLICY, clock.now);
    const chains = buildFakeChains(fakes, { llm: ORDER[primary] }, c.fault ? [] : [primary]);
    const delivered = deliveredAfter(c.pieces);
    const backupReply = delivered ? continuation(backup, delivered) : REPLY;
    fakes[primary].script.pushReplies(REPLY);
    fakes[backup].script.pushReplies(backupReply);
    const fault = c.fault?.(primary);
    if (fault) fakes[primary].faults.push({ ...fault, route: ROUTE[primary] });

    const first = await ask(chains, breakers);

    // The caller heard the whole answer exactly once, the primary's words first, then the backup's.
    expect(first.error).toBeUndefined();
    expect(first.text).toBe(REPLY);
    expect(first.done).toMatchObject({ type: 'done', provider: backup, text: REPLY, finishReason: 'stop' });
    const at = first.events.findIndex((e) => e.type === 'failover');
    expect(first.events.filter((e) => e.type === 'failover')).toEqual([
      expect.objectContaining({ from: primary, to: backup, delivered: delivered.length }),
    ]);
    const failover = first.events[at] as Extract<AnswerEvent, { type: 'failover' }>;
    expect(failover.error).toMatchObject({ provider: primary, errorClass: c.errorClass, status: c.status, retryAfterMs: c.retryAfterMs });
    expect(first.events.slice(0, at).every((e) => e.type === 'text' && e.provider === primary)).toBe(true);
    expect(textOf(first.events.slice(0, at))).toBe(delivered);
    expect(first.events.slice(at + 1).every((e) => e.type !== 'failover' && e.provider === backup)).toBe(true);

    // Each vendor saw exactly what it should: one request each from primary and backup, none for the third.
    expect(chatOf(primary)).toHaveLength(fault ? 1 : 0);
    if (fault) {
      expect(chatOf(primary)[0]?.fault).toBe(fault.kind);
      await expectWireEnd(chatOf(primary)[0], c.wire!, c.status);
    }
    expect(chatOf(backup)).toHaveLength(1);
    expectAskedToContinue(backup, chatOf(backup)[0], delivered);
    expect(chatOf(third)).toHaveLength(0);

    // One outcome record per attempt, with the class; the backup's tokens are those of what it generated.
    expect(outcomeSummary(first.outcomes)).toEqual([
      [primary, false, c.errorClass],
      [backup, true, undefined],
    ]);
    const [failed, answered] = first.outcomes;
    if (c.pieces > 0) expect(failed!.ttfbMs).toBeGreaterThanOrEqual(0);
    else expect(failed).not.toHaveProperty('ttfbMs');
    expect(answered).toMatchObject({ modality: 'llm', tokens: splitIntoTokens(backupReply).length });

    // The next request: the right path for the class of the failure. (A fault answered before the route ran left
    // the primary's reply unread: drop it.)
    for (const vendor of ORDER[primary]) fakes[vendor].script.reset();
    const primaryRequests = chatOf(primary).length;
    if (c.errorClass === 'permanent' || c.retryAfterMs !== undefined) {
      expect(breakers.state(primary)).toBe(c.errorClass === 'permanent' ? 'disabled' : 'open');
      fakes[backup].script.pushReplies(NEXT_REPLY);
      const second = await ask(chains, breakers);
      expect(second.text).toBe(NEXT_REPLY);
      expect(outcomeSummary(second.outcomes)).toEqual([[backup, true, undefined]]);
      expect(chatOf(primary)).toHaveLength(primaryRequests);
      if (c.retryAfterMs !== undefined) {
        // Not a moment before the vendor's retry-after; then one probe, which heals the breaker.
        expect(breakers.msUntilRetry(primary)).toBe(c.retryAfterMs);
        clock.advance(c.retryAfterMs);
        expect(breakers.state(primary)).toBe('half-open');
        fakes[primary].script.pushReplies(NEXT_REPLY);
        const third = await ask(chains, breakers);
        expect(third.text).toBe(NEXT_REPLY);
        expect(outcomeSummary(third.outcomes)).toEqual([[primary, true, undefined]]);
        expect(breakers.state(primary)).toBe('closed');
      }
    } else {
      // One transient failure does not open the breaker: the primary is asked first again.
      expect(breakers.state(primary)).toBe('closed');
      fakes[primary].script.pushReplies(NEXT_REPLY);
      fakes[backup].script.pushReplies(NEXT_REPLY);
      const second = await ask(chains, breakers);
      expect(second.text).toBe(NEXT_REPLY);
      expect(outcomeSummary(second.outcomes)).toEqual(
        fault ? [[primary, true, undefined]] : [[primary, false, 'transient'], [backup, true, undefined]],
      );
      expect(chatOf(primary)).toHaveLength(primaryRequests + (fault ? 1 : 0));
    }
  });

  it('cuts what a backup repeats when it starts its answer over instead of continuing', async () => {
    const breakers = new BreakerRegistry();
    const chains = buildFakeChains(fakes, { llm: ORDER.anthropic });
    fakes.anthropic.script.pushReplies(REPLY);
    fakes.groq.script.pushReplies(REPLY); // ignores the instruction and starts from the top
    fakes.anthropic.faults.push({ ...afterText('destroyAfter')('anthropic'), route: 'messages' });
    const r = await ask(chains, breakers);
    expect(r.text).toBe(REPLY);
    expect(r.done).toMatchObject({ provider: 'groq', text: REPLY });
    expectAskedToContinue('groq', chatOf('groq')[0], deliveredAfter(PIECES_BEFORE_FAULT));
  });
});

describe('LLM hedging with the real adapters', () => {
  it.each(PRIMARIES)('%s primary slow to its first token: the rival speaks first, the primary is cancelled on the wire', async (primary) => {
    const [, rival, third] = ORDER[primary];
    const breakers = new BreakerRegistry();
    const chains = buildFakeChains(fakes, { llm: ORDER[primary] });
    fakes[primary].setProfile({ ttfbMs: 400 });
    fakes[primary].script.pushReplies('The slow answer.');
    fakes[rival].script.pushReplies(REPLY);
    const r = await ask(chains, breakers, { hedgeAfterMs: 100, policy: { firstChunkTimeoutMs: 3_000, stallTimeoutMs: 1_000 } });

    expect(r.error).toBeUndefined();
    expect(r.text).toBe(REPLY);
    expect(r.events.every((e) => e.type !== 'failover' && e.provider === rival)).toBe(true);
    const [slow] = chatOf(primary);
    await waitFor('the slow primary request to be cancelled', () => slow?.clientAborted, 2_000);
    expect(chatOf(rival)).toHaveLength(1);
    expect(chatOf(third)).toHaveLength(0);
    // The outrun primary timed out for this turn (one timeout: its breaker stays closed until it keeps doing so).
    expect(outcomeSummary(r.outcomes)).toEqual([[primary, false, 'timeout'], [rival, true, undefined]]);
    expect(breakers.state(primary)).toBe('closed');
  });

  it('never starts the rival when the primary speaks before the hedge delay', async () => {
    const chains = buildFakeChains(fakes, { llm: ORDER.openai });
    fakes.openai.script.pushReplies(REPLY);
    const r = await ask(chains, new BreakerRegistry(), { hedgeAfterMs: 300 });
    expect(r.text).toBe(REPLY);
    expect(chatOf('anthropic')).toHaveLength(0);
    expect(outcomeSummary(r.outcomes)).toEqual([['openai', true, undefined]]);
  });
});
