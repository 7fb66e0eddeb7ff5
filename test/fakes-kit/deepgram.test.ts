// The fake Deepgram through the REAL @deepgram/sdk 5.x live client: utterances found in the audio, the message sequence
// the engine relies on (interims, speech_final, UtteranceEnd, SpeechStarted, Finalize, CloseStream, idle close) and
// every fault the vendor can show (refused handshake, 1011 mid-utterance, silence, late first message).
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDeepgram, type FakeDeepgram } from '../fakes/deepgram.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { connectListen, openListen, silence, tone, type ResultsMessage } from './listen-harness.ts';

const IDLE_TIMEOUT_MS = 400;
let fake: FakeDeepgram;

beforeAll(async () => {
  fake = await startFakeDeepgram({ idleTimeoutMs: IDLE_TIMEOUT_MS });
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake?.close();
});

/** 600 ms of "speech" then 1200 ms of silence: one utterance, endpointed and then ended. */
const utterance = () => Buffer.concat([tone(600), silence(1200)]);

describe('fake Deepgram live transcription (through @deepgram/sdk 5.x)', () => {
  it('finds two utterances in the audio and answers each with its scripted transcript, as Deepgram sequences it', async () => {
    fake.script.pushTranscripts('turn on the lights', 'and close the door');
    const call = await openListen(fake.url);
    const audio = Buffer.concat([utterance(), utterance()]);
    call.sendAudio(audio);
    await call.waitForMessage('the second UtteranceEnd', () => call.messages.filter((m) => m.type === 'UtteranceEnd').length === 2);
    call.socket.sendCloseStream({ type: 'CloseStream' });
    expect(await call.waitForClose()).toEqual({ code: 1000, reason: '' });

    const finals = call.results().filter((r) => r.is_final);
    expect(finals.map((r) => r.channel.alternatives[0]?.transcript)).toEqual(['turn on the lights', 'and close the door', '']);
    expect(finals.map((r) => r.speech_final)).toEqual([true, true, false]);
    // Interims grow word by word while the tone lasts, and never run ahead of the final.
    expect(call.transcripts((r) => !r.is_final)).toEqual(['turn', 'turn on', 'and', 'and close']);

    const types = call.messages.map((m) => (m.type === 'Results' ? ((m as ResultsMessage).is_final ? 'Final' : 'Interim') : m.type));
    expect(types).toEqual([
      'SpeechStarted', 'Interim', 'Interim', 'Final', 'UtteranceEnd',
      'SpeechStarted', 'Interim', 'Interim', 'Final', 'UtteranceEnd',
      'Final', 'Metadata',
    ]);
    const [firstStarted, , secondStarted] = call.messages.filter((m) => m.type !== 'Results');
    expect(firstStarted).toMatchObject({ type: 'SpeechStarted', channel: [0, 1], timestamp: 0 });
    expect(secondStarted).toMatchObject({ type: 'SpeechStarted', timestamp: 1.8 });
    expect(call.messages.filter((m) => m.type === 'UtteranceEnd')).toEqual([
      { type: 'UtteranceEnd', channel: [0, 1], last_word_end: 0.6 },
      { type: 'UtteranceEnd', channel: [0, 1], last_word_end: 2.4 },
    ]);

    // Final Results tile the audio: each starts where the previous one ended; words sit inside the spoken part.
    expect(finals.map((r) => [r.start, r.duration])).toEqual([[0, 0.9], [0.9, 1.8], [2.7, 0.9]]);
    const firstWords = finals[0]?.channel.alternatives[0]?.words ?? [];
    expect(firstWords.map((w) => w.word)).toEqual(['turn', 'on', 'the', 'lights']);
    expect(firstWords.at(-1)?.end).toBe(0.6);

    const metadata = call.messages.at(-1);
    expect(metadata).toMatchObject({
      type: 'Metadata',
      request_id: finals[0]?.metadata.request_id,
      sha256: createHash('sha256').update(audio).digest('hex'),
      duration: 3.6,
      channels: 1,
    });
    expect(call.errors).toEqual([]);

    const [handshake] = fake.requests;
    expect(handshake).toMatchObject({ route: 'listen', method: 'GET', path: '/v1/listen', status: 101, bodyBytes: audio.length });
    expect(handshake?.headers.authorization).toBe('Token ***-key'); // the kit masks keys in its request log
    expect(handshake?.query).toMatchObject({
      encoding: 'linear16', sample_rate: '16000', interim_results: 'true', endpointing: '300', utterance_end_ms: '1000', vad_events: 'true',
    });
    expect(handshake?.clientAborted).toBe(false);
  });

  it('flushes speech in progress on Finalize as a final Results with from_finalize', async () => {
    fake.script.pushTranscripts('book a table for two');
    const call = await openListen(fake.url);
    call.sendAudio(Buffer.concat([tone(700), silence(100)]));
    await call.waitForMessage('an interim', (m) => m.type === 'Results');
    call.socket.sendFinalize({ type: 'Finalize' });
    const flushed = (await call.waitForMessage('the finalize flush', (m) => m.type === 'Results' && m.from_finalize === true)) as ResultsMessage;
    expect(flushed).toMatchObject({ is_final: true, speech_final: false, from_finalize: true });
    expect(flushed.channel.alternatives[0]?.transcript).toBe('book a table for two');
    expect(call.results().filter((r) => r.is_final)).toHaveLength(1);
    call.socket.close();
    await call.waitForClose();
  });

  it('a Finalize in a pause: speech resuming inside the endpointing silence goes on the same sentence, later speech is the next', async () => {
    // The script holds whole sentences and the flush sent the whole line: the rest of it brings no words of its own.
    fake.script.pushTranscripts('wait what about tomorrow', 'and the day after');
    const call = await openListen(fake.url);
    // Streamed on without a pause (a client sends its audio as it comes): the Finalize lands in the silence, then
    // 200 ms of silence in all (less than the endpointing), then the rest of the sentence.
    call.sendAudio(Buffer.concat([tone(300), silence(100)]));
    call.socket.sendFinalize({ type: 'Finalize' });
    call.sendAudio(Buffer.concat([silence(100), tone(500), silence(400)]));
    await call.waitForMessage('the endpoint of the rest', (m) => m.type === 'Results' && m.speech_final === true);
    // A silence longer than the endpointing, then a sentence of its own: the next line.
    call.sendAudio(Buffer.concat([silence(400), tone(600), silence(400)]));
    await call.waitForMessage('the next sentence\'s endpoint', (m) => m.type === 'Results' && m.speech_final === true && (m as ResultsMessage).channel.alternatives[0]?.transcript !== '');
    call.socket.close();
    await call.waitForClose();
    expect(call.results().filter((r) => r.is_final).map((r) => [r.channel.alternatives[0]?.transcript, r.speech_final, r.from_finalize])).toEqual([
      ['wait what about tomorrow', false, true],
      ['', true, false],
      ['and the day after', true, false],
    ]);
  });

  it('a Finalize at the end of a turn: the next turn\'s speech is the next sentence, however little audio came between', async () => {
    // A client streams utterances, not the silence between them: the audio-time gap is short, the stream paused.
    fake.script.pushTranscripts('what time is it', 'and the date');
    const call = await openListen(fake.url);
    call.sendAudio(Buffer.concat([tone(600), silence(100)]));
    await call.waitForMessage('an interim', (m) => m.type === 'Results');
    call.socket.sendFinalize({ type: 'Finalize' });
    await call.waitForMessage('the flush', (m) => m.type === 'Results' && m.from_finalize === true);
    await sleep(300);
    call.sendAudio(Buffer.concat([silence(100), tone(600), silence(400)]));
    await call.waitForMessage('the next sentence\'s endpoint', (m) => m.type === 'Results' && m.speech_final === true);
    call.socket.close();
    await call.waitForClose();
    expect(call.results().filter((r) => r.is_final).map((r) => r.channel.alternatives[0]?.transcript)).toEqual(['what time is it', 'and the date']);
  });

  it('needs neither interim results nor endpointing: finals only, speech_final false, no UtteranceEnd or SpeechStarted', async () => {
    fake.script.pushTranscripts('just the final');
    const call = await openListen(fake.url, { interim_results: 'false', endpointing: false, vad_events: 'false' });
    call.sendAudio(Buffer.concat([tone(600), silence(1500)]));
    call.socket.sendCloseStream({ type: 'CloseStream' });
    await call.waitForClose();
    expect(call.messages.map((m) => m.type)).toEqual(['Results', 'Results', 'Metadata']);
    expect(call.transcripts()).toEqual(['just the final', '']);
    expect(call.results().every((r) => r.is_final && !r.speech_final)).toBe(true);
  });

  it('answers KeepAlive with nothing, and closes an idle stream with 1011 NET-0001 without the SDK reconnecting', async () => {
    const call = await openListen(fake.url);
    // KeepAlive every 100 ms keeps the stream open well past the idle timeout...
    for (let elapsed = 0; elapsed < IDLE_TIMEOUT_MS * 2; elapsed += 100) {
      call.socket.sendKeepAlive({ type: 'KeepAlive' });
      await sleep(100);
    }
    expect(call.socket.readyState).toBe(WebSocket.OPEN);
    expect(call.messages).toEqual([]);
    // ...and silence from the client closes it.
    expect(await call.waitForClose()).toEqual({ code: 1011, reason: 'NET-0001' });
    await sleep(200);
    expect(fake.requests).toHaveLength(1); // reconnectAttempts: 0 keeps the SDK from dialling again
  });

  it('records the client leaving before the stream ended', async () => {
    const call = await openListen(fake.url);
    call.sendAudio(tone(200));
    call.socket.close();
    await call.waitForClose();
    await waitFor('the fake to see the close', () => fake.requests[0]?.clientAborted);
  });
});

describe('fake Deepgram auth', () => {
  it('refuses a wrong key before upgrading, with the 401 JSON body and dg-error header', async () => {
    const strict = await startFakeDeepgram({ apiKey: 'right-key' });
    try {
      const call = await connectListen(strict.url, {}, 'wrong-key');
      await expect(call.socket.waitForOpen()).rejects.toBeDefined();
      // Worth knowing: the SDK follows the error with a close whose code is 1000 (its own default), not the HTTP status.
      expect((await call.waitForClose()).code).toBe(1000);
      expect(call.errors.map((e) => e.message)).toEqual(['Unexpected server response: 401']);
      expect(strict.requests.map((r) => r.status)).toEqual([401]);

      const refusal = await rawHandshake(`${strict.url.replace('http', 'ws')}/v1/listen`, { authorization: 'Token wrong-key' });
      expect(refusal.status).toBe(401);
      expect(refusal.headers['dg-error']).toBe('Invalid credentials.');
      expect(JSON.parse(refusal.body)).toMatchObject({ err_code: 'INVALID_AUTH', err_msg: 'Invalid credentials.' });
    } finally {
      await strict.close();
    }
  });

  it('accepts the key as the `token, <key>` subprotocol that browsers and native WebSockets send', async () => {
    const strict = await startFakeDeepgram({ apiKey: 'right-key' });
    try {
      const ws = new WebSocket(`${strict.url.replace('http', 'ws')}/v1/listen?encoding=linear16&sample_rate=16000`, ['token', 'right-key']);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      expect(ws.protocol).toBe('token');
      ws.close();
    } finally {
      await strict.close();
    }
  });
});

describe('fake Deepgram faults', () => {
  it('rejectHandshake: the SDK reports the refused upgrade and does not retry', async () => {
    fake.faults.push({ kind: 'rejectHandshake', status: 503, route: 'listen' });
    const call = await connectListen(fake.url);
    await expect(call.socket.waitForOpen()).rejects.toBeDefined();
    expect(call.errors.map((e) => e.message)).toEqual(['Unexpected server response: 503']);
    await sleep(200);
    expect(fake.requests.map((r) => r.status)).toEqual([503]);
  });

  it('midStreamError: closes 1011 in the middle of an utterance, after the given number of Results', async () => {
    fake.faults.push({ kind: 'midStreamError', chunks: 1 });
    const call = await openListen(fake.url);
    call.sendAudio(Buffer.concat([tone(600), silence(1200)]));
    expect(await call.waitForClose()).toEqual({ code: 1011, reason: 'NET-0000' });
    expect(call.results().map((r) => r.is_final)).toEqual([false]);
    expect(call.messages.map((m) => m.type)).toEqual(['SpeechStarted', 'Results']);
  });

  it('silence: takes the audio but never sends a Results, while SpeechStarted and the close still come', async () => {
    fake.faults.push({ kind: 'silence' });
    const call = await openListen(fake.url);
    call.sendAudio(Buffer.concat([utterance(), utterance()]));
    call.socket.sendCloseStream({ type: 'CloseStream' });
    expect((await call.waitForClose()).code).toBe(1000);
    expect(call.messages.map((m) => m.type)).toEqual(['SpeechStarted', 'SpeechStarted', 'Metadata']);
    expect(fake.requests[0]?.bodyBytes).toBe(utterance().length * 2);
  });

  it('quietFinalize: a Finalize after the speech_final gets nothing back; one with speech pending is still answered', async () => {
    fake.faults.push({ kind: 'quietFinalize' });
    fake.script.pushTranscripts('first words', 'second words');
    const call = await openListen(fake.url);
    call.sendAudio(utterance());
    await call.waitForMessage('the speech_final', (m) => m.type === 'Results' && m.speech_final === true);
    call.socket.sendFinalize({ type: 'Finalize' });
    // Speech still going on when the next Finalize comes: that one is flushed as usual.
    call.sendAudio(Buffer.concat([tone(700), silence(100)]));
    await call.waitForMessage('an interim of the second utterance', (m) => m.type === 'Results' && m.is_final === false && call.transcripts().includes('first words'));
    call.socket.sendFinalize({ type: 'Finalize' });
    const flushed = (await call.waitForMessage('the finalize flush', (m) => m.type === 'Results' && m.from_finalize === true)) as ResultsMessage;
    expect(flushed.channel.alternatives[0]?.transcript).toBe('second words');
    call.socket.sendCloseStream({ type: 'CloseStream' });
    await call.waitForClose();
    // Exactly one from_finalize: the first Finalize, with nothing pending, was never answered.
    expect(call.results().filter((r) => r.from_finalize)).toHaveLength(1);
    expect(call.results().filter((r) => r.is_final).map((r) => [r.channel.alternatives[0]?.transcript, r.speech_final, r.from_finalize])).toEqual([
      ['first words', true, false],
      ['second words', false, true],
      ['', false, false],
    ]);
  });

  it('ignoreFinalize: no Finalize is answered, with speech pending or not; the endpoint still sends its speech_final', async () => {
    fake.faults.push({ kind: 'ignoreFinalize' });
    fake.script.pushTranscripts('never flushed');
    const call = await openListen(fake.url);
    call.sendAudio(Buffer.concat([tone(700), silence(100)]));
    await call.waitForMessage('an interim', (m) => m.type === 'Results');
    call.socket.sendFinalize({ type: 'Finalize' });
    call.sendAudio(silence(400));
    await call.waitForMessage('the speech_final', (m) => m.type === 'Results' && m.speech_final === true);
    call.socket.sendFinalize({ type: 'Finalize' });
    call.socket.sendCloseStream({ type: 'CloseStream' });
    await call.waitForClose();
    expect(call.results().filter((r) => r.from_finalize)).toEqual([]);
    expect(call.results().filter((r) => r.is_final).map((r) => r.channel.alternatives[0]?.transcript)).toEqual(['never flushed', '']);
  });

  it('delayFirstChunk: the socket opens at once but the first message waits', async () => {
    fake.faults.push({ kind: 'delayFirstChunk', ms: 300 });
    const call = await openListen(fake.url);
    const openedAt = Date.now();
    call.sendAudio(utterance());
    const first = await call.waitForMessage('the first message', () => true);
    expect(first.type).toBe('SpeechStarted');
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(250);
    await call.waitForMessage('the final', (m) => m.type === 'Results' && m.is_final === true);
    call.socket.close();
  });
});

/** A bare `ws` handshake, to read what the SDK hides: status, headers and body of a refused upgrade. */
function rawHandshake(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => reject(new Error('the handshake was accepted')));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (part: Buffer) => (body += part.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
  });
}
