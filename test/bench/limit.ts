// `npm run bench -- --only limit`: issue 11's targets, measured. One live stack (livekit-server, the functions in
// workerd, the local launcher, the fakes), the real worker in a real room per case, espeak questions from a caller,
// and the response delay read on the waveform the caller receives (test/bench/waterfall.ts's room). The fakes get
// issue 11's fixed delays, so the floor is known and every millisecond above it is ours. Figures, not a test.
import { cpus, loadavg, totalmem } from 'node:os';
import { HEDGE_DELAY, hedgeDelayFrom } from '../../worker/fallback/hedge-delay.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { waitFor } from '../support/wait.ts';
import { TRACE_STAGES } from '../../worker/agent/turn-trace.ts';
import { LIMIT_CASES, type LimitCase } from './limit-cases.ts';
import { DEFAULT_STT_FLUSH_SILENCE_MS } from '../../worker/config.ts';
import { VAD_WINDOW_MS } from '../../worker/audio/vad.ts';
import { percentile, summarize, type Summary } from './stats.ts';
import { runWaterfallRoom, scriptTurns, STT_ENDPOINTING_MS, type WaterfallTurn } from './waterfall.ts';

/** Issue 11's fixed fake delays. */
export const LIMIT_DELAYS = {
  endpointingMs: STT_ENDPOINTING_MS,
  sttFinalMs: 150,
  llmTtftMs: 250,
  /** The waterfall's token rate: the words after the first token arrive at this pace. */
  llmTokensPerSecond: 80,
  ttsTtfbMs: 120,
  /** "The LLM answers within the endpointing window": its first token well inside the 300 ms. */
  preemptLlmTtftMs: 100,
  /**
   * The preemption target's premise, an STT whose newest hypothesis holds every word when the caller stops: the fake
   * Deepgram's interims (one word more each) come this often while the caller speaks, instead of every 300 ms.
   */
  everyWordInterimMs: 100,
} as const;
/** One 20 ms audio frame: the first sound cannot be heard before a frame of it has gone out. */
const FRAME_MS = 20;
/** End of speech → first audio when nothing of ours takes any time (issue 11: ≈ 840 ms). */
export const FLOOR_MS = LIMIT_DELAYS.endpointingMs + LIMIT_DELAYS.sttFinalMs + LIMIT_DELAYS.llmTtftMs + LIMIT_DELAYS.ttsTtfbMs + FRAME_MS;
/** With preemption the LLM's time hides inside the endpointing window. */
export const PREEMPT_TARGET_MS = LIMIT_DELAYS.endpointingMs + LIMIT_DELAYS.ttsTtfbMs + 60;
export const STALL_RATIO_TARGET = 1.3;
const TURNS = 8;
/** A first room whose figures are dropped: the stack's first worker pays for its JIT, caches and a cold machine. */
const WARM_UP_TURNS = 2;
/** Never, for a turn: the primary's stream opens and its first token does not come. */
const NEVER_MS = 60_000;

type CaseName = 'warmUp' | LimitCase;

interface CaseFigures {
  name: CaseName;
  answered: number;
  turns: number;
  delay: Summary | undefined;
  /** Where the time goes: each stage of the worker's turn_trace, p50 ms from the end of speech. */
  stagesP50: Record<string, number>;
  /** What no pipeline could take from a turn here (p50 over turns), for the case's physical limit. */
  unavoidableP50: Unavoidable;
  /** The turns whose words came with Deepgram's endpoint, not with the answer to the worker's flush. */
  endpointTurns: { count: number; delay: Summary | undefined };
  notes: string[];
}

export interface LimitFigures {
  floorMs: number;
  cases: CaseFigures[];
  /** The hedge delay the stalled-primary session derived for openai from the health scores, when it had them. */
  hedgeDelayMs?: number;
  loadAtStart: number[];
  loadAtEnd: number[];
}

function setDelays(fakes: LiveStack['fakes'], llmTtftMs: number): void {
  for (const f of [fakes.deepgram, fakes.openai, fakes.anthropic, fakes.elevenlabs]) f.reset();
  fakes.deepgram.setProfile({ ttfbMs: LIMIT_DELAYS.sttFinalMs, ttfbJitterMs: 0 });
  for (const llm of [fakes.openai, fakes.anthropic]) {
    llm.setProfile({ ttfbMs: llmTtftMs, ttfbJitterMs: 0, tokensPerSecond: LIMIT_DELAYS.llmTokensPerSecond });
  }
  fakes.elevenlabs.setProfile({ ttfbMs: LIMIT_DELAYS.ttsTtfbMs, ttfbJitterMs: 0, audioRealtimeFactor: 2, chunkMs: 20 });
}

/**
 * The parts of a turn that are neither a vendor's configured delay nor the pipeline's: the caller's last sound reaching
 * the worker over WebRTC (its turn_trace's lastLoudInAt), the answer's first frame reaching the caller (first frame
 * out → heard), and the LLM's tokens up to the end of the first text the TTS can speak well (its words after the
 * first, at the fake's token rate).
 */
interface Unavoidable {
  inMs: number;
  outMs: number;
  firstTextTokensMs: number;
}

const MS_PER_TOKEN = 1000 / LIMIT_DELAYS.llmTokensPerSecond;

function unavoidableOf(turns: readonly WaterfallTurn[]): Unavoidable {
  const p50 = (xs: (number | undefined)[]) => summarize(xs)?.medianMs ?? Number.NaN;
  const gap = (t: WaterfallTurn) => (t.fromEndMs.callerHeardAt === undefined || t.fromEndMs.firstFrameOutAt === undefined ? undefined : t.fromEndMs.callerHeardAt - t.fromEndMs.firstFrameOutAt);
  return {
    inMs: p50(turns.map((t) => t.fromEndMs.lastLoudInAt)),
    outMs: p50(turns.map(gap)),
    firstTextTokensMs: p50(turns.map((t) => (t.firstTextWords === undefined ? undefined : Math.max(0, t.firstTextWords - 1) * MS_PER_TOKEN))),
  };
}

/**
 * The soonest the first audio of such a turn can be heard, whatever the pipeline, as its parts: the configured vendor
 * delays on the path that case leaves open (without any Finalize answered, the words come with the endpoint, until
 * the worker flushes with CloseStream; with preemption, the STT's messages still come its latency after the audio they
 * cover, so the last word is known that long after the speech at the soonest), then the caller's sound into the
 * worker, the first text's tokens, the sound back.
 */
function physicalLimitParts(name: CaseName, u: Unavoidable): [string, number][] | undefined {
  const vendors: [string, number][] | undefined =
    name === 'finalizeIgnored'
      ? [['endpointing', LIMIT_DELAYS.endpointingMs], ['STT', LIMIT_DELAYS.sttFinalMs], ['LLM', LIMIT_DELAYS.llmTtftMs], ['TTS', LIMIT_DELAYS.ttsTtfbMs]]
      : name === 'preemption'
        ? [['STT behind the audio', LIMIT_DELAYS.sttFinalMs], ['LLM', LIMIT_DELAYS.preemptLlmTtftMs], ['TTS', LIMIT_DELAYS.ttsTtfbMs]]
        : name === 'preemptionEveryWord'
          ? [['LLM', LIMIT_DELAYS.preemptLlmTtftMs], ['TTS', LIMIT_DELAYS.ttsTtfbMs]]
          : undefined;
  return vendors && [...vendors, ['WebRTC in', u.inMs], ['first text\'s tokens', u.firstTextTokensMs], ['WebRTC out', u.outMs]];
}

interface HealthRow {
  id: string;
  successes: number;
  latencyEwmaMs: number | null;
  latencyDeviationMs?: number | null;
}

/** GET /v1/providers as an operator reads it, with the latency fields this part prints. */
async function healthOf(stack: LiveStack, id: string): Promise<HealthRow | undefined> {
  const rows = (await stack.providers()) as unknown as HealthRow[];
  return rows.find((r) => r.id === id);
}

async function runCase(stack: LiveStack, dir: string, progress: (line: string) => void, name: CaseName, arrange: (fakes: LiveStack['fakes']) => void, count = TURNS): Promise<CaseFigures> {
  progress(`limit: ${name}, ${count} questions in one room (~${Math.round((count * 6.5) / 10) * 10} s)`);
  const turns = await runWaterfallRoom(stack, dir, progress, count, (s, n) => {
    arrange(s.fakes);
    scriptTurns(s.fakes, n, ['openai', 'anthropic']);
  });
  const delays = turns.map((t) => t.fromEndMs.callerHeardAt);
  const stagesP50: Record<string, number> = {};
  for (const stage of TRACE_STAGES) {
    const at = turns.flatMap((t) => (t.fromEndMs[stage] === undefined ? [] : [t.fromEndMs[stage]]));
    if (at.length > 0) stagesP50[stage] = Math.round(percentile(at, 50));
  }
  const preempted = turns.filter((t) => t.preempted).length;
  const endpointed = turns.filter((t) => !t.flushed);
  return {
    name,
    answered: delays.filter((d) => d !== undefined).length,
    turns: turns.length,
    delay: summarize(delays),
    stagesP50,
    unavoidableP50: unavoidableOf(turns),
    endpointTurns: { count: endpointed.length, delay: summarize(endpointed.map((t) => t.fromEndMs.callerHeardAt)) },
    notes: [
      `turns answered by the preemptive request: ${preempted}/${turns.length}`,
      `turns whose words came with the answer to the flush (not the endpoint): ${turns.length - endpointed.length}/${turns.length}`,
    ],
  };
}

const chatRequests = (fake: LiveStack['fakes']['openai'], route: string) => fake.requests.filter((r) => r.route === route);

/** A live stack whose workers run as they ship, with `workerEnv` on top. */
function limitStack(workerEnv: Record<string, string> = {}): Promise<LiveStack> {
  return startLiveStack({
    bindings: { STT_PROVIDERS: 'deepgram', LLM_PROVIDERS: 'openai,anthropic', TTS_PROVIDERS: 'elevenlabs' },
    // The worker as it ships: preemptive generation on (the live stack's tests turn it off; the fake LLMs here answer
    // by prompt, so a dropped speculative request takes no question's reply).
    workerEnv: { PREEMPTIVE_GENERATION: 'on', ...workerEnv },
    quietFunctions: true,
  });
}

const ignoreEveryFinalize = (f: LiveStack['fakes']) => {
  setDelays(f, LIMIT_DELAYS.llmTtftMs);
  f.deepgram.faults.push({ kind: 'ignoreFinalize', route: 'listen', times: 100 });
};

/**
 * The deaf Deepgram again, for workers started with DEEPGRAM_FLUSH=close-stream (their own stack: the setting is a
 * worker's start-up environment): no turn waits to learn that Finalize goes unanswered.
 */
async function runCloseStreamCase(dir: string, progress: (line: string) => void): Promise<CaseFigures> {
  progress('limit: a second live stack, its workers flushing with CloseStream from the start');
  const stack = await limitStack({ DEEPGRAM_FLUSH: 'close-stream' });
  try {
    await runCase(stack, dir, progress, 'warmUp', (f) => setDelays(f, LIMIT_DELAYS.llmTtftMs), WARM_UP_TURNS);
    return await runCase(stack, dir, progress, 'finalizeIgnoredCloseStream', ignoreEveryFinalize);
  } finally {
    await stack.close();
  }
}

export async function runLimit(dir: string, progress: (line: string) => void, only: readonly LimitCase[] = LIMIT_CASES): Promise<LimitFigures> {
  const wanted = (name: LimitCase) => only.includes(name);
  const loadAtStart = loadavg();
  progress('limit: starting the live stack (livekit-server, functions, launcher, fakes)');
  const stack = await limitStack();
  const cases: CaseFigures[] = [];
  let hedgeDelayMs: number | undefined;
  try {
    await runCase(stack, dir, progress, 'warmUp', (f) => setDelays(f, LIMIT_DELAYS.llmTtftMs), WARM_UP_TURNS);
    if (wanted('healthy')) {
      const healthy = await runCase(stack, dir, progress, 'healthy', (f) => setDelays(f, LIMIT_DELAYS.llmTtftMs));
      healthy.notes.push(`hedges that fired on a healthy turn: ${chatRequests(stack.fakes.anthropic, 'messages').length}/${TURNS}`);
      cases.push(healthy);
    }

    if (wanted('quietFinalize')) {
      cases.push(await runCase(stack, dir, progress, 'quietFinalize', (f) => {
        setDelays(f, LIMIT_DELAYS.llmTtftMs);
        f.deepgram.faults.push({ kind: 'quietFinalize', route: 'listen', times: 100 });
      }));
      stack.fakes.deepgram.faults.clear();
    }

    // Its docs say it "may" answer: here it answers no Finalize at all (not the one asked in the caller's silence
    // either). The session's first flush asks both ways and learns it; every flush after is a CloseStream.
    if (wanted('finalizeIgnored')) {
      cases.push(await runCase(stack, dir, progress, 'finalizeIgnored', ignoreEveryFinalize));
      stack.fakes.deepgram.faults.clear();
    }
    if (wanted('stalledPrimary')) hedgeDelayMs = await runStalledCase(stack, dir, progress, cases);
    if (wanted('preemption')) cases.push(await runCase(stack, dir, progress, 'preemption', (f) => setDelays(f, LIMIT_DELAYS.preemptLlmTtftMs)));
    if (wanted('preemptionEveryWord')) {
      cases.push(await runCase(stack, dir, progress, 'preemptionEveryWord', (f) => {
        setDelays(f, LIMIT_DELAYS.preemptLlmTtftMs);
        f.deepgram.setInterimInterval(LIMIT_DELAYS.everyWordInterimMs);
      }));
      stack.fakes.deepgram.reset();
    }
  } finally {
    await stack.close();
  }
  if (wanted('finalizeIgnoredCloseStream')) {
    const at = cases.findIndex((c) => c.name === 'finalizeIgnored') + 1;
    cases.splice(at > 0 ? at : cases.length, 0, await runCloseStreamCase(dir, progress));
  }
  return { floorMs: FLOOR_MS, cases, ...(hedgeDelayMs !== undefined ? { hedgeDelayMs } : {}), loadAtStart, loadAtEnd: loadavg() };
}

/** A primary LLM that never sends its first token; the hedge delay it was given (when the health scores had one). */
async function runStalledCase(stack: LiveStack, dir: string, progress: (line: string) => void, cases: CaseFigures[]): Promise<number | undefined> {
  // The next session's hedge delay comes from what the sessions before reported: wait until the functions have it.
  const openai = await waitFor('openai first tokens in the health scores', async () => {
    const row = await healthOf(stack, 'llm:openai');
    return row && row.successes >= TURNS && row.latencyEwmaMs !== null ? row : undefined;
  }, 30_000, 500).catch(() => undefined);
  const stalled = await runCase(stack, dir, progress, 'stalledPrimary', (f) => {
    setDelays(f, LIMIT_DELAYS.llmTtftMs);
    f.openai.faults.push({ kind: 'delayFirstChunk', ms: NEVER_MS, route: 'chat', times: 100 });
  });
  stack.fakes.openai.faults.clear();
  let hedgeDelayMs: number | undefined;
  if (openai?.latencyEwmaMs != null) {
    const ewma = openai.latencyEwmaMs;
    const deviation = openai.latencyDeviationMs ?? ewma / 4;
    hedgeDelayMs = hedgeDelayFrom({ meanMs: Math.round(ewma), deviationMs: Math.round(deviation) });
    stalled.notes.push(`openai's measured first token handed to the worker: EWMA ${Math.round(ewma)} ms, deviation ${Math.round(deviation)} ms → hedge after ${hedgeDelayMs} ms`);
  } else {
    stalled.notes.push('openai had no measured first token in the health scores: the worker hedged after its unmeasured default');
  }
  const stalledChats = chatRequests(stack.fakes.openai, 'chat');
  stalled.notes.push(`openai asked ${stalledChats.length}× (cancelled on the wire: ${stalledChats.filter((r) => r.clientAborted).length}), anthropic answered ${chatRequests(stack.fakes.anthropic, 'messages').length}×`);
  cases.push(stalled);
  return hedgeDelayMs;
}

const roundSummary = (s: Summary): Summary => ({ ...s, medianMs: Math.round(s.medianMs), p95Ms: Math.round(s.p95Ms) });
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
/** "floor + 12", "floor − 67": a figure against its base, signed as it reads. */
const against = (ms: number, base: number, name: string | number = 'floor') => {
  const d = Math.round(ms - base);
  return d < 0 ? `${name} − ${-d}` : `${name} + ${d}`;
};

export function limitTable(f: LimitFigures): string {
  const byName = new Map(f.cases.map((c) => [c.name, { ...c, delay: c.delay && roundSummary(c.delay) }]));
  const healthyP50 = byName.get('healthy')?.delay?.medianMs;
  const rows: string[][] = [['case', 'answered', 'p50', 'p95', 'target', 'verdict']];
  for (const c of byName.values()) {
    const d = c.delay;
    const answered = `${c.answered}/${c.turns}`;
    if (!d) {
      rows.push([c.name, answered, '-', '-', '-', 'MISS']);
      continue;
    }
    if (c.name === 'healthy' || c.name === 'quietFinalize' || c.name === 'finalizeIgnored' || c.name === 'finalizeIgnoredCloseStream') {
      const label = {
        healthy: 'healthy turn',
        quietFinalize: 'Deepgram answers a Finalize only with audio pending (its docs)',
        finalizeIgnored: 'Deepgram answers no Finalize at all (DEEPGRAM_FLUSH=auto)',
        finalizeIgnoredCloseStream: 'the same, DEEPGRAM_FLUSH=close-stream',
      }[c.name];
      rows.push([label, answered, `${d.medianMs} (${against(d.medianMs, f.floorMs)})`, `${d.p95Ms} (${against(d.p95Ms, f.floorMs)})`, 'p50 ≤ floor + 40, p95 ≤ floor + 80', verdict(d.medianMs <= f.floorMs + 40 && d.p95Ms <= f.floorMs + 80)]);
    } else if (c.name === 'preemption' || c.name === 'preemptionEveryWord') {
      const label = c.name === 'preemption' ? '(inside the endpointing)' : `and STT interims every ${LIMIT_DELAYS.everyWordInterimMs} ms`;
      rows.push([`LLM first token ${LIMIT_DELAYS.preemptLlmTtftMs} ms ${label}`, answered, `${d.medianMs} (${against(d.medianMs, PREEMPT_TARGET_MS, PREEMPT_TARGET_MS)})`, `${d.p95Ms}`, `p50 ≤ ${PREEMPT_TARGET_MS} (endpointing + TTS first byte + 60)`, verdict(d.medianMs <= PREEMPT_TARGET_MS)]);
    } else {
      const ratio = healthyP50 ? d.medianMs / healthyP50 : Number.NaN;
      const p95Ratio = healthyP50 ? d.p95Ms / byName.get('healthy')!.delay!.p95Ms : Number.NaN;
      rows.push(['primary LLM never sends a first token', answered, `${d.medianMs} (${ratio.toFixed(2)} × healthy)`, `${d.p95Ms} (${p95Ratio.toFixed(2)} × healthy)`, `p50 ≤ ${STALL_RATIO_TARGET} × healthy turn`, verdict(ratio <= STALL_RATIO_TARGET && c.answered === c.turns)]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const cpu = cpus();
  return [
    'Issue 11 targets: response delay, end of speech → first audio as the caller hears it (ms; nearest-rank percentiles)',
    `each case: ${TURNS} espeak questions in a room of its own, after a ${WARM_UP_TURNS}-question warm-up room whose figures are dropped`,
    `fake delays: endpointing ${LIMIT_DELAYS.endpointingMs}, STT final ${LIMIT_DELAYS.sttFinalMs} after endpointing/Finalize, LLM first token ${LIMIT_DELAYS.llmTtftMs} then ${LIMIT_DELAYS.llmTokensPerSecond} tokens/s, TTS first byte ${LIMIT_DELAYS.ttsTtfbMs}`,
    `floor:     ${f.floorMs} = ${LIMIT_DELAYS.endpointingMs} + ${LIMIT_DELAYS.sttFinalMs} + ${LIMIT_DELAYS.llmTtftMs} + ${LIMIT_DELAYS.ttsTtfbMs} + ${FRAME_MS} (one audio frame)`,
    `machine:   ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`,
    `load:      ${f.loadAtStart.map((l) => l.toFixed(2)).join(' / ')} at the start, ${f.loadAtEnd.map((l) => l.toFixed(2)).join(' / ')} at the end (1 / 5 / 15 min; other work inflates every "floor + X")`,
    '',
    ...lines,
    '',
    'where the time goes (the worker\'s turn_trace, p50 ms from the end of speech):',
    ...f.cases.map((c) => `  ${c.name}: ${Object.entries(c.stagesP50).map(([stage, ms]) => `${stage.replace(/At$/, '')} ${ms}`).join(' · ')}`),
    '',
    ...f.cases.flatMap((c) => c.notes.map((n) => `${c.name}: ${n}`)),
    '',
    'physical limits (p50 figures of each case; the floor leaves the two WebRTC legs and the first text\'s tokens out):',
    ...f.cases.map((c) => {
      const u = c.unavoidableP50;
      const parts = physicalLimitParts(c.name, u);
      if (!parts || !c.delay) return `  ${c.name}: WebRTC in ${Math.round(u.inMs)}, first text's tokens ${Math.round(u.firstTextTokensMs)}, WebRTC out ${Math.round(u.outMs)}`;
      const limit = parts.reduce((sum, [, ms]) => sum + ms, 0);
      const path = parts.map(([what, ms]) => `${what} ${Math.round(ms)}`).join(' + ');
      if (c.name === 'finalizeIgnored') {
        // Only a turn whose words wait for the endpoint: once a Finalize goes unanswered the worker flushes with
        // CloseStream, whose answer comes as a Finalize's would.
        const e = c.endpointTurns;
        const measured = e.delay ? `measured on those ${e.count}: p50 ${Math.round(e.delay.medianMs)} = limit + ${Math.round(e.delay.medianMs - limit)}` : 'no such turn';
        return `  ${c.name}, a turn whose words come with the endpoint: soonest possible ≈ ${Math.round(limit)} (${path}); ${measured}`;
      }
      const line = `  ${c.name}: soonest possible ≈ ${Math.round(limit)} (${path}); measured p50 ${Math.round(c.delay.medianMs)} = limit + ${Math.round(c.delay.medianMs - limit)}`;
      if (c.name !== 'preemption') return line;
      // That limit assumes the STT's newest hypothesis holds the last word. This fake's lags by a word, so the words
      // come only when the STT is asked for them, which needs silence heard first (one VAD window at the soonest).
      const lagging: [string, number][] = [['WebRTC in', u.inMs], ['one VAD window', VAD_WINDOW_MS], ['STT', LIMIT_DELAYS.sttFinalMs], ['LLM', LIMIT_DELAYS.preemptLlmTtftMs], ['first text\'s tokens', u.firstTextTokensMs], ['TTS', LIMIT_DELAYS.ttsTtfbMs], ['WebRTC out', u.outMs]];
      const laggingLimit = lagging.reduce((sum, [, ms]) => sum + ms, 0);
      return [
        `${line} (if the hypothesis held every word as the caller stops)`,
        `  ${c.name}, this fake's hypothesis, a word behind: soonest possible ≈ ${Math.round(laggingLimit)} (${lagging.map(([what, ms]) => `${what} ${Math.round(ms)}`).join(' + ')}); measured = limit + ${Math.round(c.delay.medianMs - laggingLimit)} (the worker asks for the words after ${DEFAULT_STT_FLUSH_SILENCE_MS} ms of silence)`,
      ].join('\n');
    }),
    // A stalled primary costs about the hedge delay on top of a healthy turn, whatever the turn: the ratio grows as
    // the healthy turn shrinks towards the floor.
    ...(f.hedgeDelayMs !== undefined
      ? [
          `stalledPrimary: at the floor the same hedge delay would make the first stalled turn ≈ (${f.floorMs} + ${f.hedgeDelayMs}) / ${f.floorMs} = ${((f.floorMs + f.hedgeDelayMs) / f.floorMs).toFixed(2)} × the healthy turn (target ${STALL_RATIO_TARGET}: a hedge after ≤ ${Math.round((STALL_RATIO_TARGET - 1) * f.floorMs)} ms);`,
          `  the next ones, the primary suspect, ≈ (${f.floorMs} + ${HEDGE_DELAY.suspectMs}) / ${f.floorMs} = ${((f.floorMs + HEDGE_DELAY.suspectMs) / f.floorMs).toFixed(2)} ×, until three timeouts open its breaker`,
        ]
      : []),
  ].join('\n');
}
