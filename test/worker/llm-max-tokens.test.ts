// LLM_MAX_TOKENS: parsed once with the other settings, sent to every LLM through its real SDK (OpenAI and Groq as
// max_completion_tokens, Anthropic as max_tokens), and a capped answer (finish reason 'length') is the answer: no
// failover, no retry, and its unfinished last sentence is not spoken or remembered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig, WorkerConfigError } from '../../worker/config.ts';
import { BreakerRegistry } from '../../worker/fallback/breaker.ts';
import { streamAnswer, type AnswerEvent } from '../../worker/fallback/llm-chain.ts';
import { splitIntoTokens } from '../fakes/kit/script.ts';
import { runConversation, startVendors, ttsTexts, type Vendors } from './agent/conversation-harness.ts';
import { buildFakeChains, closeChains, jsonBody, outcomeLog, startVendorFakes, type VendorFakes } from './fault-matrix-support.ts';

const STORY = ['The sea was calm and the sky was clear.', 'A sailor sang old songs to pass the time.', 'Far away a storm was slowly building over the hills.'];

describe('LLM_MAX_TOKENS', () => {
  it('defaults to 300 tokens, takes a number, and names itself when the value is bad', () => {
    expect(parseAgentConfig({}).LLM_MAX_TOKENS).toBe(300);
    expect(parseAgentConfig({ LLM_MAX_TOKENS: '120' }).LLM_MAX_TOKENS).toBe(120);
    for (const bad of ['lots', '0', '8', '1.5', '100000']) {
      expect(() => parseAgentConfig({ LLM_MAX_TOKENS: bad })).toThrow(WorkerConfigError);
      expect(() => parseAgentConfig({ LLM_MAX_TOKENS: bad })).toThrow(/LLM_MAX_TOKENS/);
    }
  });
});

describe('the cap on every LLM, through the real SDKs', () => {
  let fakes: VendorFakes;
  beforeAll(async () => {
    fakes = await startVendorFakes();
  });
  afterAll(() => fakes.close());

  const cases = [
    { first: 'openai', order: ['openai', 'anthropic', 'groq'], field: 'max_completion_tokens' },
    { first: 'anthropic', order: ['anthropic', 'groq', 'openai'], field: 'max_tokens' },
    { first: 'groq', order: ['groq', 'openai', 'anthropic'], field: 'max_completion_tokens' },
  ] as const;

  it.each(cases)('$first gets $field, and its capped answer ends the chain without a failover', async ({ first, order, field }) => {
    fakes.reset();
    fakes[first].script.pushReplies(STORY.join(' '));
    const chains = buildFakeChains(fakes, { llm: [...order] });
    const log = outcomeLog();
    const events: AnswerEvent[] = [];
    const request = { system: 'Tell a story.', messages: [{ role: 'user' as const, text: 'A story, please.' }], maxTokens: 5 };
    for await (const ev of streamAnswer({ links: chains.llm, breakers: new BreakerRegistry(), onOutcome: log.record }, request, AbortSignal.timeout(10_000))) events.push(ev);
    await closeChains(chains);

    const sent = fakes[first].requests.filter((r) => r.route === 'chat' || r.route === 'messages');
    expect(sent).toHaveLength(1);
    expect(jsonBody(sent[0])).toMatchObject({ [field]: 5 });
    expect(events.filter((e) => e.type === 'failover')).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'done', provider: first, finishReason: 'length', text: splitIntoTokens(STORY[0]!).slice(0, 5).join('') });
    for (const other of order.slice(1)) expect(fakes[other].requests).toEqual([]);
    expect(log.outcomes).toEqual([expect.objectContaining({ modality: 'llm', provider: first, ok: true })]);
  });
});

describe('the cap across a failover', () => {
  let fakes: VendorFakes;
  beforeAll(async () => {
    fakes = await startVendorFakes();
  });
  afterAll(() => fakes.close());

  it('is the answer\'s: the provider that carries on a cut answer gets what is left of it', async () => {
    fakes.reset();
    fakes.openai.script.pushReplies(STORY.join(' '));
    fakes.anthropic.script.pushReplies(STORY.slice(1).join(' '));
    // The role chunk, then six text pieces, then the socket dies.
    fakes.openai.faults.push({ kind: 'destroyAfter', chunks: 7, route: 'chat' });
    const chains = buildFakeChains(fakes, { llm: ['openai', 'anthropic', 'groq'] });
    const events: AnswerEvent[] = [];
    const request = { system: 'Tell a story.', messages: [{ role: 'user' as const, text: 'A story, please.' }], maxTokens: 40 };
    for await (const ev of streamAnswer({ links: chains.llm, breakers: new BreakerRegistry() }, request, AbortSignal.timeout(10_000))) events.push(ev);
    await closeChains(chains);

    const failover = events.find((e) => e.type === 'failover');
    expect(failover).toMatchObject({ from: 'openai', to: 'anthropic' });
    const delivered = failover?.type === 'failover' ? failover.delivered : 0;
    expect(delivered).toBeGreaterThan(0);
    expect(jsonBody(fakes.openai.requests[0])).toMatchObject({ max_completion_tokens: 40 });
    expect(jsonBody(fakes.anthropic.requests[0])).toMatchObject({ max_tokens: 40 - Math.ceil(delivered / 4) });
    expect(events.at(-1)).toMatchObject({ type: 'done', provider: 'anthropic' });
  });
});

describe('a capped answer in a conversation', () => {
  let vendors: Vendors;
  beforeAll(async () => {
    vendors = await startVendors();
  });
  afterAll(() => vendors.close());

  it('sends LLM_MAX_TOKENS with the turn, speaks the whole sentences and drops the cut one', async () => {
    // The cap falls three tokens into the third sentence.
    const cap = splitIntoTokens(STORY.slice(0, 2).join(' ')).length + 3;
    vendors.openai.reset();
    vendors.elevenlabs.reset();
    vendors.openai.script.pushReplies(STORY.join(' '));
    const run = await runConversation({ vendors, inputMs: 10_000, speech: [{ atMs: 500, ms: 800 }], transcripts: ['a story please'], llmMaxTokens: cap, speed: 20 });
    const chat = vendors.openai.requests.filter((r) => r.route === 'chat');
    expect(chat).toHaveLength(1);
    expect(jsonBody(chat[0])).toMatchObject({ max_completion_tokens: cap });
    expect(ttsTexts(vendors.elevenlabs)).toEqual(STORY.slice(0, 2));
    expect(run.history.at(-1)).toMatchObject({ role: 'assistant', text: STORY.slice(0, 2).join(' ') });
    expect(run.history.at(-1)).not.toHaveProperty('interrupted');
  });
});
