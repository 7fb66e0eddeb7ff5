// The fault matrix of the TTS chain: the REAL adapters (@elevenlabs/elevenlabs-js, openai speech, built by the
// registry) against the fake vendors, each primary × faults before its first audio and after some audio. The fake
// speaks deterministic PCM (kit/audio.ts), so the audio the caller gets is checked sample for sample: a failure
// before audio gives exactly the backup's rendering of the whole sentence; a failure after audio gives the primary's
// partial audio, then the backup's rendering of the rest of the text only, from a word boundary, repeating nothing
// that was played. The backup voice keeps the next sentence (sticky).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorClass } from '../../functions/contract.ts';
import { BreakerRegistry } from '../../worker/fallback/breaker.ts';
import { TtsChain, type SpeechEvent } from '../../worker/fallback/tts-chain.ts';
import { pcmFromText, samplesFor, ttsDurationMsFor } from '../fakes/kit/audio.ts';
import type { QueuedFault } from '../fakes/kit/faults.ts';
import { PROFILES } from '../fakes/kit/profile.ts';
import type { RecordedRequest } from '../fakes/kit/server.ts';
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
import { concatPcm } from '../../worker/audio/frames.ts';

type TtsVendor = 'elevenlabs' | 'openai';

/** Both adapters yield 24 kHz PCM (ElevenLabs asked for pcm_24000, OpenAI's pcm format). */
const SAMPLE_RATE = 24_000;
const POLICY = { firstChunkTimeoutMs: 500, stallTimeoutMs: 300 };
const LATE_MS = 10_000;
const WARM_UP = 'Good morning, thanks for calling the front desk.';
const SENTENCE = 'The quick brown fox jumps over the lazy dog by the river bank.';
const NEXT = 'Is there anything else I can help you with today?';
/** Audio chunks the primary delivers before a mid-sentence fault: 40 × 20 ms = 800 ms, about 14 characters. */
const CHUNKS_BEFORE_FAULT = 40;
const CHUNK_SAMPLES = samplesFor(PROFILES.instant.chunkMs, SAMPLE_RATE);

const ROUTE: Record<TtsVendor, string> = { elevenlabs: 'tts', openai: 'speech' };
const ORDER: Record<TtsVendor, [TtsVendor, TtsVendor]> = { elevenlabs: ['elevenlabs', 'openai'], openai: ['openai', 'elevenlabs'] };

interface FaultCase {
  name: string;
  /** Absent: the primary's host refuses connections. */
  fault?: QueuedFault;
  errorClass: ErrorClass;
  /** Audio chunks delivered before the fault. */
  chunks: number;
  wire?: WireEnd;
  status?: number;
}

const BEFORE_AUDIO: FaultCase[] = [
  { name: '401 bad key', fault: { kind: 'status', status: 401 }, errorClass: 'permanent', chunks: 0, wire: 'status', status: 401 },
  { name: '429 with retry-after', fault: { kind: 'status', status: 429, retryAfterS: 2 }, errorClass: 'transient', chunks: 0, wire: 'status', status: 429 },
  { name: '500', fault: { kind: 'status', status: 500 }, errorClass: 'transient', chunks: 0, wire: 'status', status: 500 },
  { name: '503 HTML page', fault: { kind: 'status', status: 503 }, errorClass: 'transient', chunks: 0, wire: 'status', status: 503 },
  { name: 'reset before any response', fault: { kind: 'reset' }, errorClass: 'transient', chunks: 0, wire: 'serverDestroyed' },
  { name: 'headers later than the deadline', fault: { kind: 'delayHeaders', ms: LATE_MS }, errorClass: 'timeout', chunks: 0, wire: 'clientAborted' },
  { name: 'first audio later than the deadline', fault: { kind: 'delayFirstChunk', ms: LATE_MS }, errorClass: 'timeout', chunks: 0, wire: 'clientAborted' },
  { name: 'socket destroyed after the headers', fault: { kind: 'destroyAfter', chunks: 0 }, errorClass: 'transient', chunks: 0, wire: 'serverDestroyed' },
  { name: 'connection refused', errorClass: 'transient', chunks: 0 },
];

const AFTER_AUDIO: FaultCase[] = [
  { name: 'stall mid-sentence', fault: { kind: 'stallAfter', chunks: CHUNKS_BEFORE_FAULT, ms: LATE_MS }, errorClass: 'timeout', chunks: CHUNKS_BEFORE_FAULT, wire: 'clientAborted' },
  { name: 'socket destroyed mid-sentence', fault: { kind: 'destroyAfter', chunks: CHUNKS_BEFORE_FAULT }, errorClass: 'transient', chunks: CHUNKS_BEFORE_FAULT, wire: 'serverDestroyed' },
  // Raw audio has no error frame: the vendor's mid-stream failure is a dropped connection.
  { name: 'vendor error mid-sentence', fault: { kind: 'midStreamError', chunks: CHUNKS_BEFORE_FAULT }, errorClass: 'transient', chunks: CHUNKS_BEFORE_FAULT, wire: 'serverDestroyed' },
];

const PRIMARIES: TtsVendor[] = ['elevenlabs', 'openai'];
const matrix = (cases: FaultCase[]) => PRIMARIES.flatMap((p) => cases.map((c) => [p, c.name, c] as const));

let fakes: VendorFakes;
beforeAll(async () => {
  fakes = await startVendorFakes();
});
afterEach(() => fakes.reset());
afterAll(async () => {
  await fakes?.close();
});


type Audio = Extract<SpeechEvent, { type: 'audio' }>;
type Failover = Extract<SpeechEvent, { type: 'failover' }>;
const audioOf = (events: SpeechEvent[], provider?: string) =>
  concatPcm(events.filter((e): e is Audio => e.type === 'audio' && (provider === undefined || e.provider === provider)).map((e) => e.pcm));

/** Compared as bytes: a sample-for-sample match without printing 80 000 numbers on failure. */
const same = (actual: Int16Array, expected: Int16Array) => Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength));

async function speak(chain: TtsChain, text: string) {
  return collect(chain.speak(text, AbortSignal.timeout(15_000)));
}

const speechOf = (vendor: TtsVendor) => requestsOn(fakes[vendor], ROUTE[vendor]);
const spokenText = (vendor: TtsVendor, request: RecordedRequest | undefined) => jsonBody(request)[vendor === 'openai' ? 'input' : 'text'];

function chainFor(primary: TtsVendor, down: boolean) {
  const log = outcomeLog();
  const chains = buildFakeChains(fakes, { tts: ORDER[primary] }, down ? [primary] : []);
  const chain = new TtsChain({ links: chains.tts, breakers: new BreakerRegistry(), policy: POLICY, onOutcome: log.record });
  return { chain, outcomes: log.outcomes };
}

/** Sentence after the failover: the backup speaks it first, the primary is not asked, and the audio is exact. */
async function expectStickyBackup(chain: TtsChain, primary: TtsVendor, backup: TtsVendor): Promise<void> {
  expect(chain.order).toEqual([backup, primary]);
  const primaryRequests = speechOf(primary).length;
  const next = await speak(chain, NEXT);
  expect(next.error).toBeUndefined();
  expect(next.events.every((e) => e.type === 'audio' && e.provider === backup)).toBe(true);
  expect(same(audioOf(next.events), pcmFromText(NEXT, SAMPLE_RATE))).toBe(true);
  expect(speechOf(primary)).toHaveLength(primaryRequests);
  expect(spokenText(backup, speechOf(backup).at(-1))).toBe(NEXT);
}

describe('TTS fault matrix: failure before the first audio', () => {
  it.each(matrix(BEFORE_AUDIO))('%s primary, %s → the whole sentence on the backup', async (primary, _name, c) => {
    const [, backup] = ORDER[primary];
    const { chain, outcomes } = chainFor(primary, c.fault === undefined);
    if (c.fault) fakes[primary].faults.push({ ...c.fault, route: ROUTE[primary] });

    const r = await speak(chain, SENTENCE);

    expect(r.error).toBeUndefined();
    expect(r.events[0]).toMatchObject({ type: 'failover', from: primary, to: backup, remainingText: SENTENCE });
    expect((r.events[0] as Failover).error).toMatchObject({ provider: primary, errorClass: c.errorClass, status: c.status });
    expect(r.events.slice(1).every((e) => e.type === 'audio' && e.provider === backup && e.sampleRate === SAMPLE_RATE)).toBe(true);
    const audio = audioOf(r.events);
    expect(audio.length).toBe(samplesFor(ttsDurationMsFor(SENTENCE), SAMPLE_RATE));
    expect(same(audio, pcmFromText(SENTENCE, SAMPLE_RATE))).toBe(true);

    expect(speechOf(primary)).toHaveLength(c.fault ? 1 : 0);
    if (c.fault) await expectWireEnd(speechOf(primary)[0], c.wire!, c.status);
    expect(speechOf(backup)).toHaveLength(1);
    expect(spokenText(backup, speechOf(backup)[0])).toBe(SENTENCE);

    expect(outcomeSummary(outcomes)).toEqual([
      [primary, false, c.errorClass],
      [backup, true, undefined],
    ]);
    expect(outcomes[0]).not.toHaveProperty('ttfbMs');
    expect(outcomes[0]).not.toHaveProperty('audioMs');
    expect(outcomes[1]).toMatchObject({ modality: 'tts', audioMs: ttsDurationMsFor(SENTENCE) });

    await expectStickyBackup(chain, primary, backup);
  });
});

describe('TTS fault matrix: failure after some audio', () => {
  it.each(matrix(AFTER_AUDIO))('%s primary, %s → the rest of the text on the backup, nothing played twice', async (primary, _name, c) => {
    const [, backup] = ORDER[primary];
    const { chain, outcomes } = chainFor(primary, false);
    // One healthy sentence first: the chain learns how fast this voice speaks, so it can tell how much was played.
    const warm = await speak(chain, WARM_UP);
    expect(same(audioOf(warm.events, primary), pcmFromText(WARM_UP, SAMPLE_RATE))).toBe(true);
    fakes[primary].faults.push({ ...c.fault!, route: ROUTE[primary] });

    const r = await speak(chain, SENTENCE);

    expect(r.error).toBeUndefined();
    const at = r.events.findIndex((e) => e.type === 'failover');
    expect(r.events.filter((e) => e.type === 'failover')).toHaveLength(1);
    const failover = r.events[at] as Failover;
    expect(failover).toMatchObject({ from: primary, to: backup, error: expect.objectContaining({ errorClass: c.errorClass }) });
    expect(r.events.slice(0, at).every((e) => e.type === 'audio' && e.provider === primary)).toBe(true);
    expect(r.events.slice(at + 1).every((e) => e.type === 'audio' && e.provider === backup)).toBe(true);

    // The primary's audio is exactly the start of the sentence, as far as it got.
    const played = audioOf(r.events, primary);
    expect(played.length).toBe(c.chunks * CHUNK_SAMPLES);
    expect(same(played, pcmFromText(SENTENCE, SAMPLE_RATE).subarray(0, played.length))).toBe(true);

    // The rest: a suffix of the sentence starting at a word, after everything that was heard, skipping at most the
    // word that was cut off.
    const rest = failover.remainingText;
    const restStart = SENTENCE.length - rest.length;
    expect(SENTENCE.endsWith(rest)).toBe(true);
    expect(rest).toMatch(/^\S/);
    expect(SENTENCE[restStart - 1]).toMatch(/\s/);
    const playedChars = (played.length / SAMPLE_RATE) * 1000 / ttsDurationMsFor(SENTENCE) * SENTENCE.length;
    expect(restStart).toBeGreaterThanOrEqual(playedChars);
    expect(SENTENCE.slice(Math.floor(playedChars), restStart).trim()).not.toMatch(/\s/);

    // The backup was asked for the rest only, and the caller hears its rendering of exactly that.
    expect(speechOf(backup)).toHaveLength(1);
    expect(spokenText(backup, speechOf(backup)[0])).toBe(rest);
    expect(same(audioOf(r.events, backup), pcmFromText(rest, SAMPLE_RATE))).toBe(true);
    expect(audioOf(r.events).length).toBe(c.chunks * CHUNK_SAMPLES + samplesFor(ttsDurationMsFor(rest), SAMPLE_RATE));

    expect(speechOf(primary)).toHaveLength(2);
    await expectWireEnd(speechOf(primary)[1], c.wire!);
    expect(outcomeSummary(outcomes)).toEqual([
      [primary, true, undefined],
      [primary, false, c.errorClass],
      [backup, true, undefined],
    ]);
    expect(outcomes[1]).toMatchObject({ audioMs: c.chunks * PROFILES.instant.chunkMs });
    expect(outcomes[1]!.ttfbMs).toBeGreaterThanOrEqual(0);
    expect(outcomes[2]).toMatchObject({ audioMs: ttsDurationMsFor(rest) });

    await expectStickyBackup(chain, primary, backup);
  });
});

describe('TTS: a failure after the last word was already played', () => {
  it('ends the sentence without the backup, and leaves the backup free for its half-open probe', async () => {
    const clock = manualClock();
    const breakers = new BreakerRegistry({ openAfterConsecutiveFailures: 2, coolDownMs: 1_000 }, clock.now);
    const log = outcomeLog();
    const chains = buildFakeChains(fakes, { tts: ['openai', 'elevenlabs'] });
    const chain = new TtsChain({ links: chains.tts, breakers, policy: POLICY, onOutcome: log.record });

    // OpenAI is rate limited for a second: ElevenLabs takes over (and becomes the session's voice).
    fakes.openai.faults.push({ kind: 'status', status: 429, retryAfterS: 1, route: 'speech' });
    const first = await speak(chain, WARM_UP);
    expect(same(audioOf(first.events, 'elevenlabs'), pcmFromText(WARM_UP, SAMPLE_RATE))).toBe(true);
    expect(chain.order).toEqual(['elevenlabs', 'openai']);
    clock.advance(1_000);
    expect(breakers.state('openai')).toBe('half-open');

    // ElevenLabs dies after the last word was already played: nothing is left for OpenAI to say.
    const short = 'Okay then.';
    const shortChunks = Math.floor(samplesFor(ttsDurationMsFor(short), SAMPLE_RATE) / CHUNK_SAMPLES);
    fakes.elevenlabs.faults.push({ kind: 'destroyAfter', chunks: shortChunks, route: 'tts' });
    const cut = await speak(chain, short);
    expect(cut.error).toBeUndefined();
    expect(cut.events.at(-1)).toMatchObject({ type: 'failover', from: 'elevenlabs', to: 'openai', remainingText: '' });
    expect(audioOf(cut.events).length).toBe(shortChunks * CHUNK_SAMPLES);
    expect(speechOf('openai')).toHaveLength(1);

    // OpenAI's retry-after is over and it was never tried since: the next sentence is its half-open probe.
    const next = await speak(chain, NEXT);
    expect(next.error).toBeUndefined();
    expect(next.events.every((e) => e.type === 'audio' && e.provider === 'openai')).toBe(true);
    expect(same(audioOf(next.events), pcmFromText(NEXT, SAMPLE_RATE))).toBe(true);
    expect(breakers.state('openai')).toBe('closed');
  });
});
