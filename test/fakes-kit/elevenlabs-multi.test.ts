// The fake ElevenLabs multi-stream-input WebSocket through `ws`, driven exactly as the LiveKit Agents and Pipecat
// ElevenLabs plugins drive it (context init with " ", text, flush, close_context, close_socket, keep-alives): every
// server message names its context as contextId, isFinal follows a closed context's last audio, and the vendor's
// five-context limit holds.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pcmFromText, pcmToBuffer } from '../fakes/kit/audio.ts';
import { startFakeElevenLabs, TTS_MULTI_WS_ROUTE, type FakeElevenLabs } from '../fakes/elevenlabs.ts';
import { sleep } from '../support/wait.ts';
import { openStreamInput, type StreamInputMessage } from './stream-input-harness.ts';

const VOICE = 'EXAVITQu4vr4xnSDxMaL';
let fake: FakeElevenLabs;

beforeAll(async () => {
  fake = await startFakeElevenLabs({ inactivityTimeoutMs: 300 });
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake?.close();
});

const open = (query = 'model_id=eleven_flash_v2_5&output_format=pcm_22050&auto_mode=true') =>
  openStreamInput(fake.url, VOICE, { headers: { 'xi-api-key': 'xi-test-key' }, query, endpoint: 'multi-stream-input' });

const audioOf = (messages: StreamInputMessage[], contextId: string) =>
  Buffer.concat(messages.filter((m) => 'audio' in m && m.contextId === contextId).map((m) => Buffer.from(String(m.audio), 'base64')));

describe('fake ElevenLabs multi-stream-input WebSocket (through ws)', () => {
  it('speaks each context apart, every message naming its contextId; isFinal right after a closed context\'s audio', async () => {
    const call = await open();
    call.send({ text: ' ', voice_settings: { stability: 0.5, similarity_boost: 0.75 }, context_id: 'a' });
    call.send({ text: 'Hello there. ', context_id: 'a' }); // auto_mode: a whole sentence is spoken at once
    call.send({ text: ' ', context_id: 'b' });
    call.send({ text: 'Second voice', context_id: 'b' });
    call.send({ context_id: 'b', flush: true }); // Pipecat's flush carries no text
    call.send({ text: '', context_id: 'a', flush: true }); // LiveKit's end of input: flush, then close
    call.send({ context_id: 'a', close_context: true });
    call.send({ context_id: 'b', close_context: true });
    await call.waitFor('isFinal for b', (m) => m.isFinal === true && m.contextId === 'b');

    expect(call.messages.every((m) => m.contextId === 'a' || m.contextId === 'b')).toBe(true);
    expect(audioOf(call.messages, 'a').equals(pcmToBuffer(pcmFromText('Hello there. ', 22_050)))).toBe(true);
    expect(audioOf(call.messages, 'b').equals(pcmToBuffer(pcmFromText('Second voice', 22_050)))).toBe(true);
    const finalA = call.messages.findIndex((m) => m.isFinal === true && m.contextId === 'a');
    const lastAudioA = call.messages.findLastIndex((m) => 'audio' in m && m.contextId === 'a');
    expect(finalA).toBeGreaterThan(lastAudioA);
    const aligned = call.messages.filter((m) => m.alignment);
    expect(aligned.map((m) => (m.normalizedAlignment as { chars: string[] }).chars.join(''))).toEqual(['Hello there. ', 'Second voice']);
    call.send({ close_socket: true });
    expect(await call.closed).toEqual({ code: 1000, reason: '' });
  });

  it('close_context drops text never flushed; empty text without flush (with or without a context) only keeps alive', async () => {
    const call = await open('model_id=eleven_flash_v2_5&output_format=pcm_24000');
    call.send({ text: ' ', context_id: 'c' });
    call.send({ text: 'Under the schedule', context_id: 'c' });
    for (let i = 0; i < 3; i++) {
      await sleep(150); // past half the 300 ms inactivity timeout each time: only the keep-alives hold the socket open
      call.send(i % 2 ? { text: '', context_id: 'c' } : { text: '' });
    }
    expect(call.messages).toEqual([]);
    call.send({ context_id: 'c', close_context: true });
    await call.waitFor('isFinal for c', (m) => m.isFinal === true);
    expect(call.messages).toEqual([{ isFinal: true, contextId: 'c' }]);
    expect(fake.requests[0]).toMatchObject({ route: TTS_MULTI_WS_ROUTE, status: 101 });
  });

  it('a sixth open context gets max_active_conversations and close 1008', async () => {
    const call = await open();
    for (let i = 1; i <= 6; i++) call.send({ text: ' ', context_id: `ctx-${i}` });
    expect(await call.closed).toMatchObject({ code: 1008 });
    expect(call.messages.at(-1)).toMatchObject({ error: 'max_active_conversations', code: 1008 });
  });
});
