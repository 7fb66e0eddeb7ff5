// The fault matrix of the STT chain: the REAL adapters (@deepgram/sdk live, openai transcriptions, built by the
// registry) against the fake vendors, Deepgram primary × the ways its live socket fails. What each case proves: the
// utterance's audio is kept and replayed into OpenAI, so the WAV OpenAI receives is the WHOLE utterance (its duration
// equals the audio's, even when Deepgram died while the caller was still talking), the final transcript is the
// scripted one, the outcome records carry the right classes, and the next utterance takes the right path.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorClass } from '../../functions/contract.ts';
import { BreakerRegistry } from '../../worker/fallback/breaker.ts';
import { transcribeUtterance, type SttChainOptions, type TranscriptEvent } from '../../worker/fallback/stt-chain.ts';
import type { QueuedFault } from '../fakes/kit/faults.ts';
import type { RecordedRequest } from '../fakes/kit/server.ts';
import { sleep } from '../support/wait.ts';
import { buildFakeChains, closeChains, outcomeLog, outcomeSummary, requestsOn, startVendorFakes, type VendorFakes } from './fault-matrix-support.ts';

const SAMPLE_RATE = 16_000;
const FRAME_SAMPLES = SAMPLE_RATE / 50; // 20 ms
const WAV_HEADER_BYTES = 44;
/** From the end of the audio to a result: above the Deepgram adapter's 500 ms grace for a flush that never comes. */
const RESULT_TIMEOUT_MS = 1_000;
const HEARD_BY_DEEPGRAM = 'i would like to';
const TRANSCRIPT = 'i would like to book a table for two';
const NEXT_TRANSCRIPT = 'at eight tonight';

/** A 440 Hz tone: speech to the fake's energy detector. */
function tone(ms: number): Int16Array {
  const pcm = new Int16Array(Math.floor((ms * SAMPLE_RATE) / 1000));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE));
  return pcm;
}

/** 1.2 s of speech, then 0.4 s of silence (enough for Deepgram's 300 ms endpointing). */
const UTTERANCE = (() => {
  const speech = tone(1_200);
  const pcm = new Int16Array(speech.length + (400 * SAMPLE_RATE) / 1000);
  pcm.set(speech);
  return pcm;
})();
const UTTERANCE_MS = (UTTERANCE.length / SAMPLE_RATE) * 1000;
/** Frames sent before the caller "keeps talking" only once the chain has restarted: 0.6 s, past the first interim. */
const FRAMES_BEFORE_GATE = 30;

interface FaultCase {
  name: string;
  /** Absent: Deepgram's host refuses connections. */
  fault?: QueuedFault;
  errorClass: ErrorClass;
  /** The socket dies while the caller is still talking: the rest of the audio waits for the restart. */
  midUtterance: boolean;
  /** After a permanent failure the next utterance skips Deepgram. */
  skippedNext: boolean;
}

const CASES: FaultCase[] = [
  { name: 'close 1011 mid-utterance', fault: { kind: 'midStreamError', chunks: 1 }, errorClass: 'transient', midUtterance: true, skippedNext: false },
  { name: 'socket dropped (1006) mid-utterance', fault: { kind: 'destroyAfter', chunks: 1 }, errorClass: 'transient', midUtterance: true, skippedNext: false },
  { name: 'handshake refused with 401', fault: { kind: 'rejectHandshake', status: 401 }, errorClass: 'permanent', midUtterance: false, skippedNext: true },
  { name: 'handshake refused with 503', fault: { kind: 'rejectHandshake', status: 503 }, errorClass: 'transient', midUtterance: false, skippedNext: false },
  { name: 'silence: audio accepted, no results ever', fault: { kind: 'silence' }, errorClass: 'timeout', midUtterance: false, skippedNext: false },
  { name: 'connection refused', errorClass: 'transient', midUtterance: false, skippedNext: false },
];

let fakes: VendorFakes;
let closeAfter: (() => Promise<void>) | undefined;
beforeAll(async () => {
  fakes = await startVendorFakes();
});
afterEach(async () => {
  await closeAfter?.();
  closeAfter = undefined;
  fakes.reset();
});
afterAll(async () => {
  await fakes?.close();
});

/** True when `promise` settles within `ms`, false when it does not (the timer never outlives the wait). */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The utterance in 20 ms frames, paced like a live caller (faster); after `gateAfter` frames it waits for `gate`. */
async function* caller(gate?: { afterFrames: number; opened: Promise<void>; passed: { value: boolean } }): AsyncGenerator<Int16Array> {
  for (let offset = 0, frame = 0; offset < UTTERANCE.length; offset += FRAME_SAMPLES, frame++) {
    if (gate && frame === gate.afterFrames) {
      gate.passed.value = await within(gate.opened, 5_000);
    }
    yield UTTERANCE.subarray(offset, offset + FRAME_SAMPLES);
    await sleep(2);
  }
}

async function transcribe(options: SttChainOptions, gated: boolean) {
  let markRestarted: () => void = () => undefined;
  const restarted = new Promise<void>((resolve) => (markRestarted = resolve));
  const gate = gated ? { afterFrames: FRAMES_BEFORE_GATE, opened: restarted, passed: { value: false } } : undefined;
  const events: TranscriptEvent[] = [];
  let error: unknown;
  try {
    for await (const event of transcribeUtterance(options, caller(gate), SAMPLE_RATE, AbortSignal.timeout(15_000))) {
      events.push(event);
      if (event.type === 'restart') markRestarted();
    }
  } catch (err) {
    error = err;
  }
  return { events, error, restartedMidUtterance: gate?.passed.value };
}

/** Bytes of the WAV file in a recorded transcription upload ("utterance.wav (N bytes)"). */
function uploadedWavBytes(request: RecordedRequest | undefined): number {
  const match = /^utterance\.wav \((\d+) bytes\)$/.exec(request?.fields?.['file'] ?? '');
  if (!match) throw new Error(`no WAV upload recorded: ${JSON.stringify(request?.fields)}`);
  return Number(match[1]);
}

const finals = (events: TranscriptEvent[]) => events.filter((e) => e.type === 'final').map((e) => [e.provider, (e as { text: string }).text]);

describe('STT fault matrix: Deepgram primary, OpenAI transcription behind it', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s → the whole utterance replayed into OpenAI', async (_name, c) => {
    const chains = buildFakeChains(fakes, { stt: ['deepgram', 'openai'] }, c.fault ? [] : ['deepgram']);
    closeAfter = () => closeChains(chains);
    const log = outcomeLog();
    const breakers = new BreakerRegistry();
    const options: SttChainOptions = { links: chains.stt, breakers, resultTimeoutMs: RESULT_TIMEOUT_MS, onOutcome: log.record };
    fakes.deepgram.script.pushTranscripts(HEARD_BY_DEEPGRAM);
    fakes.openai.script.pushTranscripts(TRANSCRIPT);
    if (c.fault) fakes.deepgram.faults.push({ ...c.fault, route: 'listen' });

    const r = await transcribe(options, c.midUtterance);

    expect(r.error).toBeUndefined();
    if (c.midUtterance) {
      // Deepgram had started hearing the sentence (its first interim) and the caller was still talking when it died.
      expect(r.restartedMidUtterance).toBe(true);
      expect(r.events).toContainEqual({ type: 'interim', text: HEARD_BY_DEEPGRAM.split(' ')[0], provider: 'deepgram' });
    }
    const at = r.events.findIndex((e) => e.type === 'restart');
    expect(r.events.filter((e) => e.type === 'restart')).toHaveLength(1);
    const restart = r.events[at] as Extract<TranscriptEvent, { type: 'restart' }>;
    expect(restart).toMatchObject({ from: 'deepgram', to: 'openai', error: expect.objectContaining({ errorClass: c.errorClass }) });
    expect(restart.replayedMs).toBeGreaterThan(0);
    expect(restart.replayedMs).toBeLessThanOrEqual(UTTERANCE_MS);
    expect(r.events.slice(0, at).every((e) => e.type !== 'restart' && e.provider === 'deepgram')).toBe(true);
    // After the restart only OpenAI speaks, and what it heard is the whole sentence.
    expect(r.events.slice(at + 1)).toEqual([{ type: 'final', text: TRANSCRIPT, speechFinal: true, provider: 'openai' }]);

    const listens = requestsOn(fakes.deepgram, 'listen');
    expect(listens).toHaveLength(c.fault ? 1 : 0);
    expect(listens[0]?.fault).toBe(c.fault?.kind);
    const uploads = requestsOn(fakes.openai, 'transcriptions');
    expect(uploads).toHaveLength(1);
    const wavBytes = uploadedWavBytes(uploads[0]);
    expect(((wavBytes - WAV_HEADER_BYTES) / 2 / SAMPLE_RATE) * 1000).toBe(UTTERANCE_MS);

    expect(outcomeSummary(log.outcomes)).toEqual([
      ['deepgram', false, c.errorClass],
      ['openai', true, undefined],
    ]);
    expect(log.outcomes[1]!.ttfbMs).toBeGreaterThanOrEqual(0);

    // The next utterance: Deepgram again on a fresh socket after a transient failure, skipped after a permanent one.
    fakes.deepgram.script.reset();
    fakes.openai.script.reset();
    fakes.deepgram.script.pushTranscripts(NEXT_TRANSCRIPT);
    fakes.openai.script.pushTranscripts(NEXT_TRANSCRIPT);
    const next = await transcribe(options, false);
    expect(next.error).toBeUndefined();
    // (A host that refuses connections is tried again, and fails over again.)
    const refused = c.fault === undefined;
    const nextBy = c.skippedNext || refused ? 'openai' : 'deepgram';
    expect(finals(next.events)).toEqual([[nextBy, NEXT_TRANSCRIPT]]);
    expect(next.events.some((e) => e.type === 'restart')).toBe(refused);
    expect(requestsOn(fakes.deepgram, 'listen')).toHaveLength(refused ? 0 : c.skippedNext ? 1 : 2);
    expect(requestsOn(fakes.openai, 'transcriptions')).toHaveLength(nextBy === 'openai' ? 2 : 1);
    expect(breakers.state('deepgram')).toBe(c.skippedNext ? 'disabled' : 'closed');
  });
});
