// The Deepgram STT adapter through the REAL @deepgram/sdk 5.x against the fake Deepgram: one socket across
// utterances (KeepAlive while idle, Finalize at the end of each), messages of an earlier utterance kept out of the
// next, every way the socket dies classified, and an abort that never leaves the adapter hanging.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDeepgram, type FakeDeepgram, type FakeDeepgramOptions } from '../../fakes/deepgram.ts';
import { closedPort } from '../../fakes/kit/server.ts';
import { sleep, waitFor } from '../../support/wait.ts';
import { ProviderError } from '../../../worker/fallback/errors.ts';
import { createDeepgramStt, type DeepgramStt, type DeepgramSttOptions } from '../../../worker/providers/stt/deepgram.ts';
import type { SttEvent } from '../../../worker/providers/types.ts';
import { FlushRequester } from '../../../worker/providers/flush-requests.ts';
import { concatPcm } from '../../../worker/audio/frames.ts';

const SAMPLE_RATE = 16_000;
const FRAME_SAMPLES = SAMPLE_RATE / 50; // 20 ms
const FAKE_IDLE_TIMEOUT_MS = 400;

/** A 440 Hz burst: "speech" for the fake's energy detector. */
function tone(ms: number): Int16Array {
  const pcm = new Int16Array(Math.floor((ms * SAMPLE_RATE) / 1000));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE));
  return pcm;
}

function silence(ms: number): Int16Array {
  return new Int16Array(Math.floor((ms * SAMPLE_RATE) / 1000));
}


/** The utterance's audio in 20 ms frames, as the turn detector hands it over (only faster). */
async function* frames(pcm: Int16Array): AsyncGenerator<Int16Array> {
  for (let offset = 0; offset < pcm.length; offset += FRAME_SAMPLES) yield pcm.subarray(offset, offset + FRAME_SAMPLES);
}

/** Audio that keeps coming until the signal aborts (a caller still talking). */
async function* endless(signal: AbortSignal): AsyncGenerator<Int16Array> {
  while (!signal.aborted) {
    yield tone(20);
    await sleep(5);
  }
}

/** Silence sent at the pace it lasts (a caller's pause in wall time, not only on the audio). */
async function* realTimeSilence(ms: number): AsyncGenerator<Int16Array> {
  for (let at = 0; at < ms; at += 20) {
    yield silence(20);
    await sleep(20);
  }
}

/** Speech, then enough silence for Deepgram's endpointing (300 ms) to mark it speech_final. */
const endpointedUtterance = () => concatPcm([tone(600), silence(400)]);

type Outcome = { events: SttEvent[]; error?: unknown };

async function transcribe(stt: DeepgramStt, audio: AsyncIterable<Int16Array>, signal = AbortSignal.timeout(5_000)): Promise<Outcome> {
  const events: SttEvent[] = [];
  try {
    for await (const event of stt.transcribe({ audio, sampleRate: SAMPLE_RATE }, signal)) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

const finals = (events: SttEvent[]) => events.filter((e) => e.type === 'final');
const listens = () => fake.requests.filter((r) => r.route === 'listen');

let fake: FakeDeepgram;
let stt: DeepgramStt | undefined;
/** Fakes started by one test with options of its own; closed after it. */
const ownFakes: FakeDeepgram[] = [];

async function dedicatedFake(options: FakeDeepgramOptions): Promise<FakeDeepgram> {
  const own = await startFakeDeepgram({ idleTimeoutMs: FAKE_IDLE_TIMEOUT_MS, ...options });
  ownFakes.push(own);
  return own;
}

function provider(options: Partial<DeepgramSttOptions> = {}, baseUrl = fake.url): DeepgramStt {
  stt = createDeepgramStt({ apiKey: 'dg-test-key', baseUrl, ...options });
  return stt;
}

beforeAll(async () => {
  fake = await startFakeDeepgram({ idleTimeoutMs: FAKE_IDLE_TIMEOUT_MS });
});
afterEach(async () => {
  await stt?.close();
  stt = undefined;
  fake.reset();
  await Promise.all(ownFakes.splice(0).map((own) => own.close()));
});
afterAll(async () => {
  await fake?.close();
});

describe('createDeepgramStt', () => {
  it('transcribes two utterances over ONE socket, ending each after its Finalize, with the live options Deepgram needs', async () => {
    fake.script.pushTranscripts('turn on the lights', 'and close the door');
    const dg = provider({ keepAliveIntervalMs: 100 });

    const first = await transcribe(dg, frames(endpointedUtterance()));
    expect(first.error).toBeUndefined();
    expect(first.events).toEqual([
      { type: 'speech_started' },
      { type: 'interim', text: 'turn' },
      { type: 'interim', text: 'turn on' },
      { type: 'final', text: 'turn on the lights', speechFinal: true },
    ]);

    // Leading silence: the first utterance's UtteranceEnd (last word at 0.6 s) comes out of Deepgram while this
    // one streams. It is about the earlier audio, so it must not show up here.
    const second = await transcribe(dg, frames(concatPcm([silence(800), endpointedUtterance()])));
    expect(second.error).toBeUndefined();
    expect(finals(second.events)).toEqual([{ type: 'final', text: 'and close the door', speechFinal: true }]);
    expect(second.events.filter((e) => e.type === 'utterance_end')).toEqual([]);

    expect(listens()).toHaveLength(1);
    const [handshake] = listens();
    expect(handshake?.headers.authorization).toMatch(/^Token /); // the fake masks the key itself
    expect(handshake?.query).toMatchObject({
      model: 'nova-3', encoding: 'linear16', sample_rate: '16000', channels: '1', interim_results: 'true',
      endpointing: '300', utterance_end_ms: '1000', vad_events: 'true', smart_format: 'true',
    });
    expect(handshake?.bodyBytes).toBe((endpointedUtterance().length * 2) + (concatPcm([silence(800), endpointedUtterance()]).length * 2));
  });

  it('yields the UtteranceEnd of the utterance in progress', async () => {
    const dg = provider();
    const { events, error } = await transcribe(dg, frames(concatPcm([tone(600), silence(1_200)])));
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['speech_started', 'interim', 'interim', 'final', 'utterance_end']);
  });

  it('waits for the Finalize flush when speech was still pending, and yields it as a final', async () => {
    // The flush (the only Results: no interims at this cadence) is held back longer than the grace period.
    const quiet = await dedicatedFake({ interimIntervalMs: 10_000 });
    quiet.script.pushTranscripts('still talking when the turn ended');
    quiet.faults.push({ kind: 'stallAfter', chunks: 0, ms: 300, route: 'listen' });
    const dg = provider({ finalizeGraceMs: 50 }, quiet.url);

    const { events, error } = await transcribe(dg, frames(tone(600)));
    expect(error).toBeUndefined();
    expect(finals(events)).toEqual([{ type: 'final', text: 'still talking when the turn ended', speechFinal: false }]);
  });

  it('the fake’s interim cadence can be changed for the next streams, and reset() brings it back', async () => {
    const fake = await dedicatedFake({ interimIntervalMs: 10_000 });
    const interims = async () => {
      fake.script.pushTranscripts('one two three four five');
      const { events } = await transcribe(provider({}, fake.url), frames(tone(600)));
      return events.filter((e) => e.type === 'interim').length;
    };
    expect(await interims()).toBe(0);
    fake.setInterimInterval(100);
    expect(await interims()).toBeGreaterThanOrEqual(4);
    fake.reset();
    expect(await interims()).toBe(0);
    expect(() => fake.setInterimInterval(0)).toThrow(RangeError);
  });

  it('ends after a short grace when Finalize gets no answer and nothing was pending (Deepgram may skip the flush)', async () => {
    const quiet = await dedicatedFake({ interimIntervalMs: 10_000 });
    quiet.script.pushTranscripts('already final');
    // Results #1 is the endpointed final; the flush after it is held back far past the test's own bound.
    quiet.faults.push({ kind: 'stallAfter', chunks: 1, ms: 10_000, route: 'listen' });
    const dg = provider({ finalizeGraceMs: 100 }, quiet.url);

    const { events, error } = await transcribe(dg, frames(endpointedUtterance()), AbortSignal.timeout(3_000));
    expect(error).toBeUndefined();
    expect(finals(events)).toEqual([{ type: 'final', text: 'already final', speechFinal: true }]);
  });

  it('a new utterance takes over the socket of one that only waits for its flush: one connection, no grace wait', async () => {
    const quiet = await dedicatedFake({ interimIntervalMs: 10_000, idleTimeoutMs: 10_000 });
    quiet.script.pushTranscripts('already final', 'and more');
    // Results #1 is the first utterance's endpointed final; what follows is held back 1.5 s (the flush among it).
    quiet.faults.push({ kind: 'stallAfter', chunks: 1, ms: 1_500, route: 'listen' });
    const dg = provider({ finalizeGraceMs: 10_000 }, quiet.url);

    const firstEvents: SttEvent[] = [];
    let firstEnded = false;
    let finalIn: () => void = () => undefined;
    const gotFinal = { promise: new Promise<void>((r) => (finalIn = r)), resolve: () => finalIn() };
    const first = (async () => {
      for await (const ev of dg.transcribe({ audio: frames(endpointedUtterance()), sampleRate: SAMPLE_RATE }, AbortSignal.timeout(5_000))) {
        firstEvents.push(ev);
        if (ev.type === 'final') gotFinal.resolve();
      }
      firstEnded = true;
    })();
    await gotFinal.promise;
    const second = await transcribe(dg, frames(endpointedUtterance()), AbortSignal.timeout(5_000));
    await first;
    expect(firstEnded).toBe(true);
    expect(finals(firstEvents)).toEqual([{ type: 'final', text: 'already final', speechFinal: true }]);
    expect(second.error).toBeUndefined();
    expect(finals(second.events)).toEqual([{ type: 'final', text: 'and more', speechFinal: true }]);
    expect(quiet.requests.filter((r) => r.route === 'listen')).toHaveLength(1);
  });

  describe('a flush while the audio goes on (the caller fell silent)', () => {
    /** Speech, a pause in which the flush is asked, then the pause goes on in real time until `until()` or 1 s. */
    async function* pauseWithFlush(flush: FlushRequester, until: () => boolean, speech = tone(600)): AsyncGenerator<Int16Array> {
      yield* frames(speech);
      yield* frames(silence(100));
      flush.request();
      for (let i = 0; i < 50 && !until(); i++) {
        yield silence(20);
        await sleep(20);
      }
    }

    async function run(dg: DeepgramStt, audio: (events: SttEvent[]) => AsyncIterable<Int16Array>, flush: FlushRequester) {
      const events: SttEvent[] = [];
      let finalsWhileStreaming = 0;
      let audioOver = false;
      const source = audio(events);
      const tracked = (async function* () {
        yield* source;
        audioOver = true;
      })();
      for await (const ev of dg.transcribe({ audio: tracked, sampleRate: SAMPLE_RATE, flush }, AbortSignal.timeout(5_000))) {
        events.push(ev);
        if (ev.type === 'final' && !audioOver) finalsWhileStreaming++;
      }
      return { events, finalsWhileStreaming };
    }

    it('answers with the words so far as a flushed final before the audio ends, then ends on the end\'s own Finalize', async () => {
      fake.script.pushTranscripts('book a table for two');
      const dg = provider();
      const flush = new FlushRequester();
      const { events, finalsWhileStreaming } = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
      // Before Deepgram's own 300 ms endpoint: the flush's answer, not a speech_final.
      expect(finals(events)).toEqual([{ type: 'final', text: 'book a table for two', speechFinal: false, flushed: true }]);
      expect(finalsWhileStreaming).toBe(1);
      // The socket is clean for the next utterance (its end was answered, not abandoned).
      fake.script.pushTranscripts('and a window seat');
      const next = await transcribe(dg, frames(concatPcm([silence(400), endpointedUtterance()])));
      expect(finals(next.events)).toEqual([{ type: 'final', text: 'and a window seat', speechFinal: true }]);
      expect(listens()).toHaveLength(1);
      // Finalize was answered: 'auto' keeps it, and its one socket.
      expect(dg.flushingWith).toBe('finalize');
    });

    it('speech after the flush is transcribed on: the flush answered one part, the rest comes as the stream goes on', async () => {
      fake.script.pushTranscripts('book a table', 'for two');
      const dg = provider();
      const flush = new FlushRequester();
      const { events } = await run(dg, async function* (evs) {
        yield* pauseWithFlush(flush, () => evs.some((e) => e.type === 'final'));
        // Well past the endpointing silence, then more speech: a sentence of its own in the fake's script.
        yield* frames(silence(400));
        yield* frames(endpointedUtterance());
      }, flush);
      expect(finals(events)).toEqual([
        { type: 'final', text: 'book a table', speechFinal: false, flushed: true },
        { type: 'final', text: 'for two', speechFinal: true },
      ]);
    });

    it('a Deepgram that never answers a Finalize: no flushed final, the endpoint\'s speech_final still comes, the stream still ends', async () => {
      const deaf = await dedicatedFake({});
      deaf.faults.push({ kind: 'ignoreFinalize', route: 'listen' });
      deaf.script.pushTranscripts('nobody flushes this');
      const dg = provider({ finalizeGraceMs: 50 }, deaf.url);
      const flush = new FlushRequester();
      const { events } = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
      expect(finals(events)).toEqual([{ type: 'final', text: 'nobody flushes this', speechFinal: true }]);
    });

    it('auto: after a Finalize went unanswered, the next flush is a CloseStream, whose answer brings the words before the endpoint', async () => {
      const deaf = await dedicatedFake({});
      deaf.faults.push({ kind: 'ignoreFinalize', route: 'listen', times: 100 });
      deaf.script.pushTranscripts('nobody flushes this', 'closing brings it');
      let switches = 0;
      const dg = provider({ finalizeGraceMs: 50, onFlushSwitched: () => switches++ }, deaf.url);
      const flush = new FlushRequester();
      const first = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
      // The endpoint's answer, 300 ms into the pause: what the flush at 100 ms asked for never came.
      expect(finals(first.events)).toEqual([{ type: 'final', text: 'nobody flushes this', speechFinal: true }]);
      expect(dg.flushingWith).toBe('closeStream');

      const second = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
      // No speech_final: the words are the closing socket's, asked for at 100 ms, not the endpoint's.
      expect(finals(second.events)).toEqual([{ type: 'final', text: 'closing brings it', speechFinal: false, flushed: true }]);
      expect(second.finalsWhileStreaming).toBe(1);
      // The first socket, then the fresh one the rest of the pause went to (its own end closed it the same way).
      expect(deaf.requests.filter((r) => r.route === 'listen')).toHaveLength(2);
      expect(switches).toBe(1); // told once, for the operator's log

    });

    it('close-stream: the flush is answered by the closing socket, and speech after it is transcribed on a fresh one', async () => {
      fake.script.pushTranscripts('book a table', 'for two', 'and a window seat');
      const dg = provider({ flush: 'closeStream' });
      const flush = new FlushRequester();
      const { events } = await run(dg, async function* (evs) {
        yield* pauseWithFlush(flush, () => evs.some((e) => e.type === 'final'));
        // Past the endpointing silence in real time too: the fake hears a new sentence, not the old one going on.
        yield* realTimeSilence(400);
        yield* frames(endpointedUtterance());
      }, flush);
      expect(finals(events)).toEqual([
        { type: 'final', text: 'book a table', speechFinal: false, flushed: true },
        { type: 'final', text: 'for two', speechFinal: true },
      ]);
      expect(listens()).toHaveLength(2);
      // Nothing of the utterance is left on a socket: the next one starts clean (and opens its own).
      const next = await transcribe(dg, frames(endpointedUtterance()));
      expect(finals(next.events)).toEqual([{ type: 'final', text: 'and a window seat', speechFinal: true }]);
    });

    it('close-stream: the caller going on at once is the same sentence (the fake\'s script line is not taken twice)', async () => {
      fake.script.pushTranscripts('book a table for two', 'and a window seat');
      const dg = provider({ flush: 'closeStream' });
      const flush = new FlushRequester();
      const { events } = await run(dg, async function* (evs) {
        yield* frames(tone(600));
        yield* frames(silence(100));
        flush.request();
        await waitFor('the flush answered', () => evs.some((e) => e.type === 'final'), 2_000);
        yield* frames(endpointedUtterance()); // the rest of the sentence, inside the endpointing silence
      }, flush);
      expect(finals(events)).toEqual([{ type: 'final', text: 'book a table for two', speechFinal: false, flushed: true }]);
      const next = await transcribe(dg, frames(endpointedUtterance()));
      expect(finals(next.events)).toEqual([{ type: 'final', text: 'and a window seat', speechFinal: true }]);
    });

    it('close-stream: speech still pending when the audio ends comes with the closing answer of the fresh socket', async () => {
      fake.script.pushTranscripts('book a table', 'for four');
      const dg = provider({ flush: 'closeStream' });
      const flush = new FlushRequester();
      const { events } = await run(dg, async function* (evs) {
        yield* pauseWithFlush(flush, () => evs.some((e) => e.type === 'final'));
        yield* realTimeSilence(400);
        yield* frames(tone(400)); // the audio ends mid-word: only the CloseStream's answer can hold it
      }, flush);
      expect(finals(events)).toEqual([
        { type: 'final', text: 'book a table', speechFinal: false, flushed: true },
        { type: 'final', text: 'for four', speechFinal: false },
      ]);
    });

    it('a flush before any audio sends nothing (Deepgram has nothing to flush): the utterance goes as usual', async () => {
      fake.script.pushTranscripts('plain utterance');
      const dg = provider();
      const flush = new FlushRequester();
      const { events } = await run(dg, async function* () {
        flush.request();
        yield* frames(endpointedUtterance());
      }, flush);
      expect(finals(events)).toEqual([{ type: 'final', text: 'plain utterance', speechFinal: true }]);
    });
  });

  it('keeps the idle socket alive with KeepAlive, past the server idle timeout', async () => {
    fake.script.pushTranscripts('one', 'two');
    const dg = provider({ keepAliveIntervalMs: 100 });
    expect(finals((await transcribe(dg, frames(endpointedUtterance()))).events)).toEqual([{ type: 'final', text: 'one', speechFinal: true }]);

    await sleep(FAKE_IDLE_TIMEOUT_MS * 3);
    const second = await transcribe(dg, frames(endpointedUtterance()));
    expect(second.error).toBeUndefined();
    expect(finals(second.events)).toEqual([{ type: 'final', text: 'two', speechFinal: true }]);
    expect(listens()).toHaveLength(1);
    expect(listens()[0]?.clientAborted).toBe(false);
  });

  it('reconnects for the next utterance when the idle socket was closed by the server', async () => {
    fake.script.pushTranscripts('one', 'two');
    const dg = provider({ keepAliveIntervalMs: 60_000 }); // no KeepAlive in time: the fake closes it (1011 NET-0001)
    expect((await transcribe(dg, frames(endpointedUtterance()))).error).toBeUndefined();
    await waitFor('the idle close', () => listens()[0]?.finished, 5_000);

    const second = await transcribe(dg, frames(endpointedUtterance()));
    expect(second.error).toBeUndefined();
    expect(finals(second.events)).toEqual([{ type: 'final', text: 'two', speechFinal: true }]);
    expect(listens()).toHaveLength(2);
  });

  it('queues audio that arrives before the socket is open instead of dropping it', async () => {
    fake.faults.push({ kind: 'delayHeaders', ms: 300, route: 'listen' });
    const dg = provider();
    const audio = endpointedUtterance();
    const { events, error } = await transcribe(dg, frames(audio));
    expect(error).toBeUndefined();
    expect(finals(events)).toEqual([{ type: 'final', text: 'hello there', speechFinal: true }]);
    expect(listens()[0]?.bodyBytes).toBe(audio.length * 2);
  });

  it('ends at once, without results, for an utterance with no audio', async () => {
    const dg = provider();
    expect(await transcribe(dg, frames(new Int16Array(0)))).toEqual({ events: [] });
  });

  it('throws a transient error when the socket closes with 1011 mid-utterance, and reconnects for the next one', async () => {
    fake.faults.push({ kind: 'midStreamError', chunks: 1, route: 'listen' });
    const dg = provider();
    const { events, error } = await transcribe(dg, frames(endpointedUtterance()));
    expect(events).toEqual([{ type: 'speech_started' }, { type: 'interim', text: 'hello' }]);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ errorClass: 'transient', provider: 'deepgram' });
    expect((error as Error).message).toContain('1011');

    const next = await transcribe(dg, frames(endpointedUtterance()));
    expect(finals(next.events)).toEqual([{ type: 'final', text: 'hello there', speechFinal: true }]);
    expect(listens()).toHaveLength(2);
  });

  it('throws a transient error when the connection drops mid-utterance (no close frame)', async () => {
    fake.faults.push({ kind: 'destroyAfter', chunks: 1, route: 'listen' });
    const { error } = await transcribe(provider(), frames(endpointedUtterance()));
    expect(error).toMatchObject({ errorClass: 'transient' });
  });

  it('throws a truncated error when the socket closes cleanly before the Finalize results', async () => {
    fake.faults.push({ kind: 'truncateAfter', chunks: 1, route: 'listen' });
    const { error } = await transcribe(provider(), frames(endpointedUtterance()));
    expect(error).toMatchObject({ errorClass: 'truncated', provider: 'deepgram' });
  });

  it.each([
    [401, 'permanent'],
    [403, 'permanent'],
    [400, 'permanent'],
    [429, 'transient'],
    [503, 'transient'],
  ] as const)('classifies a handshake refused with %i as %s', async (status, errorClass) => {
    fake.faults.push({ kind: 'rejectHandshake', status, route: 'listen' });
    const { events, error } = await transcribe(provider(), frames(endpointedUtterance()));
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ errorClass, status });
    expect(listens()).toHaveLength(1); // the SDK did not retry on its own
  });

  it('rejects a wrong key as permanent (the real 401 path, no fault injected)', async () => {
    const strict = await dedicatedFake({ apiKey: 'the-right-key' });
    const { error } = await transcribe(provider({}, strict.url), frames(endpointedUtterance()));
    expect(error).toMatchObject({ errorClass: 'permanent', status: 401 });
  });

  it('throws a transient error when nothing listens', async () => {
    const dg = provider({}, `http://127.0.0.1:${await closedPort()}`);
    const { error } = await transcribe(dg, frames(endpointedUtterance()));
    expect(error).toMatchObject({ errorClass: 'transient' });
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('throws a timeout error when the handshake outlasts the SDK connect timeout', async () => {
    fake.faults.push({ kind: 'delayHeaders', ms: 5_000, route: 'listen' });
    const { error } = await transcribe(provider({ connectTimeoutMs: 200 }), frames(endpointedUtterance()));
    expect(error).toMatchObject({ errorClass: 'timeout' });
  });

  it('silence (audio accepted, no Results): waits until the caller aborts, then stops and closes the socket', async () => {
    fake.faults.push({ kind: 'silence', route: 'listen' });
    const dg = provider({ keepAliveIntervalMs: 100 }); // KeepAlive also holds a socket that waits for results
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('test deadline')), 500);
    const { events, error } = await transcribe(dg, frames(endpointedUtterance()), controller.signal);
    clearTimeout(timer);
    expect(events).toEqual([{ type: 'speech_started' }]); // VAD events still come; Results never do
    expect(controller.signal.aborted).toBe(true);
    expect(error).toBe(controller.signal.reason);
    await waitFor('the fake to see the socket close', () => listens()[0]?.clientAborted, 5_000);

    // The aborted socket held that utterance's audio: the next utterance gets a fresh one.
    const next = await transcribe(dg, frames(endpointedUtterance()));
    expect(finals(next.events)).toEqual([{ type: 'final', text: 'hello there', speechFinal: true }]);
    expect(listens()).toHaveLength(2);
  });

  it('cancellation mid-utterance stops reading audio and closes the connection', async () => {
    const dg = provider();
    const controller = new AbortController();
    const seen: SttEvent[] = [];
    const done = (async () => {
      for await (const event of dg.transcribe({ audio: endless(controller.signal), sampleRate: SAMPLE_RATE }, controller.signal)) {
        seen.push(event);
        if (event.type === 'speech_started') controller.abort();
      }
    })();
    await expect(done).rejects.toBeDefined();
    expect(seen).toEqual([{ type: 'speech_started' }]);
    await waitFor('the fake to see the socket close', () => listens()[0]?.clientAborted, 5_000);
  });

  it('close() says goodbye on the idle socket: CloseStream, after which the server closes it', async () => {
    const dg = provider();
    expect((await transcribe(dg, frames(endpointedUtterance()))).error).toBeUndefined();
    expect(listens()[0]?.finished).toBe(false);
    await dg.close();
    await waitFor('the fake to end the stream after CloseStream', () => listens()[0]?.finished, 5_000);
  });
});
