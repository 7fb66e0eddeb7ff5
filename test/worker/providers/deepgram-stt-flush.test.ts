// The Deepgram adapter's flush while the caller is silent but the audio goes on, through the REAL @deepgram/sdk 5.x
// against the fake: Finalize's answer as a flushed final, a Deepgram that leaves Finalize unanswered, and the
// CloseStream flush ('auto' after an unanswered Finalize, or 'closeStream' always) that goes on in a fresh socket;
// and the utterance's end where Finalize goes unanswered (a CloseStream gets the words).
import { describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../support/wait.ts';
import type { DeepgramStt } from '../../../worker/providers/stt/deepgram.ts';
import type { SttEvent } from '../../../worker/providers/types.ts';
import { FlushRequester } from '../../../worker/providers/flush-requests.ts';
import { concatPcm } from '../../../worker/audio/frames.ts';
import { SAMPLE_RATE, controlMessages, dedicatedFake, endpointedUtterance, fake, finals, frames, listens, provider, realTimeSilence, silence, tone, transcribe, useFakeDeepgram } from './deepgram-harness.ts';

useFakeDeepgram();

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

describe('createDeepgramStt: a flush while the audio goes on (the caller fell silent)', () => {
  it('finalize: answers with the words so far as a flushed final before the audio ends, then ends on the end\'s own Finalize', async () => {
    fake.script.pushTranscripts('book a table for two');
    const dg = provider({ flush: 'finalize' });
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
    expect(controlMessages()).toEqual([['Finalize', 'Finalize', 'Finalize']]);
    expect(dg.flushingWith).toBe('finalize');
  });

  it('auto: the first flush asks both ways; Finalize answered, its words come at once, and later flushes are Finalize alone', async () => {
    fake.script.pushTranscripts('book a table for two', 'and a window seat', 'by the door');
    const dg = provider({ finalizeGraceMs: 10_000 });
    const flush = new FlushRequester();
    const first = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
    // Finalize's answer, not the endpoint's: no speech_final.
    expect(finals(first.events)).toEqual([{ type: 'final', text: 'book a table for two', speechFinal: false, flushed: true }]);
    expect(first.finalsWhileStreaming).toBe(1);
    expect(dg.flushingWith).toBe('finalize');
    // Past the endpointing silence in wall time: a new sentence for the fake.
    await sleep(400);
    const second = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
    expect(finals(second.events)).toEqual([{ type: 'final', text: 'and a window seat', speechFinal: false, flushed: true }]);
    const third = await transcribe(dg, frames(concatPcm([silence(400), endpointedUtterance()])));
    expect(finals(third.events)).toEqual([{ type: 'final', text: 'by the door', speechFinal: true }]);
    // The probe's socket (Finalize, then CloseStream at once), the fresh one the rest of that pause went to (its end a
    // CloseStream, as after any CloseStream flush), then one socket kept for both later utterances.
    expect(controlMessages()).toEqual([['Finalize', 'CloseStream'], ['CloseStream'], ['Finalize', 'Finalize', 'Finalize']]);
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

  it('finalize, a Deepgram that never answers a Finalize: no flushed final, the endpoint\'s speech_final still comes, the stream still ends', async () => {
    const deaf = await dedicatedFake({});
    deaf.faults.push({ kind: 'ignoreFinalize', route: 'listen' });
    deaf.script.pushTranscripts('nobody flushes this');
    const dg = provider({ flush: 'finalize', finalizeGraceMs: 50 }, deaf.url);
    const flush = new FlushRequester();
    const { events } = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
    expect(finals(events)).toEqual([{ type: 'final', text: 'nobody flushes this', speechFinal: true }]);
  });

  it('auto, a Deepgram that answers no Finalize: the first flush\'s CloseStream brings the words before the endpoint, and every flush after is a CloseStream', async () => {
    const deaf = await dedicatedFake({});
    deaf.faults.push({ kind: 'ignoreFinalize', route: 'listen', times: 100 });
    deaf.script.pushTranscripts('nobody flushes this', 'closing brings it');
    let switches = 0;
    const dg = provider({ finalizeGraceMs: 50, onFlushSwitched: () => switches++ }, deaf.url);
    const flush = new FlushRequester();
    const first = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
    // Not the endpoint's speech_final, 300 ms into the pause: the probe's CloseStream answered the flush at 100 ms.
    expect(finals(first.events)).toEqual([{ type: 'final', text: 'nobody flushes this', speechFinal: false, flushed: true }]);
    expect(first.finalsWhileStreaming).toBe(1);
    expect(dg.flushingWith).toBe('closeStream');

    await sleep(400); // past the endpointing silence in wall time: a new sentence for the fake
    const second = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
    // No speech_final: the words are the closing socket's, asked for at 100 ms, not the endpoint's.
    expect(finals(second.events)).toEqual([{ type: 'final', text: 'closing brings it', speechFinal: false, flushed: true }]);
    expect(second.finalsWhileStreaming).toBe(1);
    // Each utterance: the socket its flush closed, and the fresh one the rest of its pause went to (its own end
    // closed it the same way). No Finalize after the probe's.
    expect(controlMessages(deaf)).toEqual([['Finalize', 'CloseStream'], ['CloseStream'], ['CloseStream'], ['CloseStream']]);
    expect(switches).toBe(1); // told once, for the operator's log

  });

  it('auto: a probe with nothing pending tells nothing, so the next flush asks both ways again, three times at most', async () => {
    const quiet = await dedicatedFake({});
    quiet.faults.push({ kind: 'quietFinalize', route: 'listen', times: 100 });
    quiet.script.pushTranscripts('one', 'two', 'three', 'four');
    const dg = provider({ finalizeGraceMs: 50 }, quiet.url);
    const flush = new FlushRequester();
    for (let i = 0; i < 4; i++) {
      const { events } = await run(dg, async function* (evs) {
        yield* frames(tone(600));
        // The endpoint's speech_final first: the flush after it has nothing to answer for, neither way.
        for (let waited = 0; waited < 100 && !evs.some((e) => e.type === 'final'); waited++) {
          yield silence(20);
          await sleep(20);
        }
        flush.request();
        yield* realTimeSilence(200);
      }, flush);
      expect(finals(events).filter((e) => e.text !== '')).toEqual([{ type: 'final', text: ['one', 'two', 'three', 'four'][i], speechFinal: true }]);
      await sleep(400);
    }
    expect(dg.flushingWith).toBe('finalize');
    const probes = controlMessages(quiet).filter((m) => m.join() === 'Finalize,CloseStream');
    expect(probes).toHaveLength(3);
    expect(controlMessages(quiet).at(-1)?.[0]).toBe('Finalize'); // the fourth flush: Finalize alone
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

  it('close-stream, in a session that warmed its socket: one the utterance closed is replaced at once, and the next utterance finds it open', async () => {
    fake.script.pushTranscripts('book a table', 'for two');
    // KeepAlives well inside the fake's idle limit: the idle socket must outlast the pause between the utterances.
    const dg = provider({ flush: 'closeStream', keepAliveIntervalMs: 100 });
    await dg.warm!({ sampleRate: SAMPLE_RATE }, AbortSignal.timeout(2_000));
    const first = await transcribe(dg, frames(endpointedUtterance()));
    expect(finals(first.events)).toEqual([{ type: 'final', text: 'book a table', speechFinal: true }]);
    // Its end was a CloseStream: that socket is gone, and another is open before anyone speaks again.
    await waitFor('a fresh idle socket', () => listens().length === 2 && listens()[1]?.status === 101, 2_000);
    await sleep(400); // past the endpointing silence in wall time: a new sentence for the fake
    const second = await transcribe(dg, frames(endpointedUtterance()));
    expect(finals(second.events)).toEqual([{ type: 'final', text: 'for two', speechFinal: true }]);
    await waitFor('the next idle socket', () => listens().length === 3, 2_000);
    // The warmed socket and the fresh one each carried an utterance; the third waits, not a byte sent to it yet.
    expect(controlMessages()).toEqual([['CloseStream'], ['CloseStream'], []]);
    expect(listens().map((r) => r.bodyBytes > 0)).toEqual([true, true, false]);
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

describe('createDeepgramStt: the end of an utterance with a Deepgram that leaves Finalize unanswered', () => {
  /** Speech, then less silence than Deepgram's 300 ms endpointing: only a flush can bring the words. */
  const cutShort = () => frames(concatPcm([tone(600), silence(100)]));

  async function deafFake(script: string[]) {
    const deaf = await dedicatedFake({});
    deaf.faults.push({ kind: 'ignoreFinalize', route: 'listen', times: 100 });
    deaf.script.pushTranscripts(...script);
    return deaf;
  }

  for (const flush of ['finalize', 'auto'] as const) {
    it(`${flush}: the end's Finalize unanswered with words pending, a CloseStream brings them after the grace`, async () => {
      const deaf = await deafFake(['nobody flushes this', 'the next one']);
      let switches = 0;
      const dg = provider({ flush, finalizeGraceMs: 50, onFlushSwitched: () => switches++ }, deaf.url);
      // Without the CloseStream the stream would wait for an endpoint that never comes, until this signal aborts it.
      const first = await transcribe(dg, cutShort(), AbortSignal.timeout(3_000));
      expect(first.error).toBeUndefined();
      expect(finals(first.events)).toEqual([{ type: 'final', text: 'nobody flushes this', speechFinal: false }]);
      // Only 'auto' may change how it asks; 'finalize' keeps Finalize for flushes as the operator said.
      expect([dg.flushingWith, switches]).toEqual(flush === 'auto' ? ['closeStream', 1] : ['finalize', 0]);
      // That socket was closed; the next utterance opens another and is transcribed as usual. (Its speech starts past
      // the endpointing silence in wall time too, or the fake would hear the cut sentence going on.)
      const next = await transcribe(dg, (async function* () {
        yield* realTimeSilence(400);
        yield* frames(endpointedUtterance());
      })(), AbortSignal.timeout(3_000));
      expect(finals(next.events)).toEqual([{ type: 'final', text: 'the next one', speechFinal: true }]);
      expect(deaf.requests.filter((r) => r.route === 'listen')).toHaveLength(2);
    });
  }

  it('auto, once switched: the end is a CloseStream at once, flush or no flush (one can come too late, after the audio)', async () => {
    const deaf = await deafFake(['nobody flushes this', 'closing brings it']);
    // A grace longer than the test's signal: an end that waited on a Finalize would be aborted, not answered.
    const dg = provider({ finalizeGraceMs: 10_000 }, deaf.url);
    const flush = new FlushRequester();
    const first = await run(dg, (evs) => pauseWithFlush(flush, () => evs.some((e) => e.type === 'final')), flush);
    expect(finals(first.events)).toEqual([{ type: 'final', text: 'nobody flushes this', speechFinal: false, flushed: true }]);
    expect(dg.flushingWith).toBe('closeStream');
    // No flush reaches the provider before the audio ends (on a loaded machine the request can come after it).
    await sleep(400); // past the endpointing silence in wall time: a new sentence for the fake
    const second = await transcribe(dg, cutShort(), AbortSignal.timeout(3_000));
    expect(second.error).toBeUndefined();
    expect(finals(second.events)).toEqual([{ type: 'final', text: 'closing brings it', speechFinal: false }]);
  });

  it('a Deepgram that answers Finalize only with audio pending: an utterance of silence ends after the grace, no switch', async () => {
    const quiet = await dedicatedFake({});
    quiet.faults.push({ kind: 'quietFinalize', route: 'listen', times: 100 });
    const dg = provider({ finalizeGraceMs: 50 }, quiet.url);
    const outcome = await transcribe(dg, frames(silence(300)), AbortSignal.timeout(3_000));
    expect(outcome.error).toBeUndefined();
    expect(finals(outcome.events)).toEqual([]);
    expect(dg.flushingWith).toBe('finalize');
  });
});
