// The Deepgram STT adapter through the REAL @deepgram/sdk 5.x against the fake Deepgram: one socket across
// utterances (KeepAlive while idle, Finalize at the end of each), messages of an earlier utterance kept out of the
// next, every way the socket dies classified, and an abort that never leaves the adapter hanging. Flushes while the audio
// goes on: deepgram-stt-flush.test.ts.
import { describe, expect, it } from 'vitest';
import { closedPort } from '../../fakes/kit/server.ts';
import { sleep, waitFor } from '../../support/wait.ts';
import { ProviderError } from '../../../worker/fallback/errors.ts';
import type { SttEvent } from '../../../worker/providers/types.ts';
import { concatPcm } from '../../../worker/audio/frames.ts';
import { FAKE_IDLE_TIMEOUT_MS, SAMPLE_RATE, dedicatedFake, endless, endpointedUtterance, fake, finals, frames, listens, provider, silence, tone, transcribe, useFakeDeepgram } from './deepgram-harness.ts';

useFakeDeepgram();

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
