// Faults armed on websockets that are already open (FaultQueue.injectOpen): a vendor cutting a long-lived connection
// in the middle of a later answer or utterance, as the peers bench needs it, and the ElevenLabs synthesis log that
// says how much of each text went out before the cut.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDeepgram } from '../fakes/deepgram.ts';
import { startFakeElevenLabs, TTS_MULTI_WS_ROUTE, TTS_ROUTE, type FakeElevenLabs } from '../fakes/elevenlabs.ts';
import type { FakeServer } from '../fakes/kit/server.ts';
import { openListen, silence, tone, type ResultsMessage } from './listen-harness.ts';
import { openStreamInput } from './stream-input-harness.ts';

const VOICE = 'EXAVITQu4vr4xnSDxMaL';
let elevenlabs: FakeElevenLabs;
let deepgram: FakeServer;

beforeAll(async () => {
  [elevenlabs, deepgram] = await Promise.all([startFakeElevenLabs(), startFakeDeepgram()]);
});
afterEach(() => {
  elevenlabs.reset();
  deepgram.reset();
});
afterAll(async () => {
  await Promise.all([elevenlabs?.close(), deepgram?.close()]);
});

describe('faults armed on open websockets', () => {
  it('ElevenLabs multi-stream-input: a context spoken after arming is cut N audio chunks in; the log shows how far it got', async () => {
    const call = await open();
    speak(call, 'a', 'Hello there. ');
    await call.waitFor('isFinal for a', (m) => m.isFinal === true && m.contextId === 'a');

    expect(elevenlabs.faults.injectOpen(TTS_MULTI_WS_ROUTE, { kind: 'destroyAfter', chunks: 5 })).toBe(1);
    speak(call, 'b', 'Sure, I can help with that. ');
    expect(await call.closed).toMatchObject({ code: 1006 });

    expect(call.messages.filter((m) => 'audio' in m && m.contextId === 'b')).toHaveLength(5);
    const [first, second] = elevenlabs.syntheses;
    expect(first).toMatchObject({ route: TTS_MULTI_WS_ROUTE, contextId: 'a', text: 'Hello there. ' });
    expect(first!.sentChunks).toBe(first!.chunks);
    expect(second).toMatchObject({ contextId: 'b', text: 'Sure, I can help with that. ', sentChunks: 5 });
    expect(second!.chunks).toBeGreaterThan(5);
    expect(elevenlabs.requests.at(-1)).toMatchObject({ route: TTS_MULTI_WS_ROUTE, serverDestroyed: true });
  });

  it('with no connection open, the fault waits in the queue for the next one on that route', () => {
    expect(elevenlabs.faults.injectOpen(TTS_MULTI_WS_ROUTE, { kind: 'destroyAfter', chunks: 3 })).toBe(0);
    expect(elevenlabs.faults.pending).toEqual([{ kind: 'destroyAfter', chunks: 3, route: TTS_MULTI_WS_ROUTE, times: 1 }]);
  });

  it('the HTTP stream logs each synthesis too (and its request its chunks), cut where a destroyAfter fault cut it', async () => {
    elevenlabs.faults.push({ kind: 'destroyAfter', chunks: 4, route: TTS_ROUTE });
    const res = await fetch(`${elevenlabs.url}/v1/text-to-speech/${VOICE}/stream?output_format=pcm_24000`, {
      method: 'POST',
      headers: { 'xi-api-key': 'xi-test-key', 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'One two three four five.', model_id: 'eleven_flash_v2_5' }),
    });
    await res.arrayBuffer().catch(() => undefined); // the cut surfaces as a body error
    expect(elevenlabs.syntheses).toMatchObject([{ route: TTS_ROUTE, text: 'One two three four five.', sentChunks: 4 }]);
    // Every streamed response records its chunks, sent and total, on the request log as well.
    expect(elevenlabs.requests.at(-1)?.chunks).toEqual({ total: elevenlabs.syntheses[0]!.chunks, sent: 4 });
  });

  it('Deepgram: a connection armed with destroyAfter 0 mid-utterance is cut at its next Results', async () => {
    const call = await openListen(deepgram.url);
    call.sendAudio(Buffer.concat([tone(600), silence(1200)]));
    await call.waitForMessage('the final', (m) => m.type === 'Results' && (m as ResultsMessage).is_final);
    const resultsBefore = call.results().length;

    expect(deepgram.faults.injectOpen('listen', { kind: 'destroyAfter', chunks: 0 })).toBe(1);
    call.sendAudio(tone(600));
    expect((await call.waitForClose()).code).toBe(1006);
    expect(call.results()).toHaveLength(resultsBefore);
    expect(deepgram.requests.at(-1)).toMatchObject({ route: 'listen', serverDestroyed: true });
  });
});

function open() {
  return openStreamInput(elevenlabs.url, VOICE, {
    headers: { 'xi-api-key': 'xi-test-key' },
    query: 'model_id=eleven_flash_v2_5&output_format=pcm_24000',
    endpoint: 'multi-stream-input',
  });
}

function speak(call: Awaited<ReturnType<typeof open>>, contextId: string, text: string): void {
  call.send({ text: ' ', context_id: contextId });
  call.send({ text, context_id: contextId, flush: true });
  call.send({ context_id: contextId, close_context: true });
}
