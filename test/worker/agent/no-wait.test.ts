// No wait that is ours: the answer starts as soon as the STT's words are final (not when its Finalize flush or the
// grace after it ends), late words are folded into the one answer, the STT hears the transport's frames exactly
// (pre-roll + every frame after, nothing lost or doubled), and the figures count from the end of speech on the audio.
import { describe, expect, it } from 'vitest';
import { FRAME_MS, runEngine, type SttScript } from './engine-harness.ts';
import { ScriptedVad } from './scripted-vad.ts';

const RATE_PER_MS = 16;
// Speech 500..1500 ms on the audio; the utterance's audio begins with 200 ms of pre-roll (at 300).
const CALLER = [{ silenceMs: 500 }, { speakMs: 1_000 }];
// Deepgram's speech_final comes with its endpointing (300 ms of quiet): 1.5 s into the utterance's audio = 1800 ms.
const SPEECH_FINAL_AT_AUDIO_MS = 1_500;
const TURN_END_MS = 1_800;

function endpointed(text: string, flush: SttScript['flush'], graceMs?: number): SttScript {
  return {
    results: [
      { atAudioMs: 600, interim: text.split(' ')[0]! },
      { atAudioMs: SPEECH_FINAL_AT_AUDIO_MS, final: text, speechFinal: true },
    ],
    flush,
    ...(graceMs !== undefined ? { graceMs } : {}),
  };
}

describe('the answer starts on the final transcript', () => {
  it('Deepgram answers the Finalize 150 ms later: the LLM was asked at the turn end, before the flush', async () => {
    const run = await runEngine({ caller: CALLER, stt: [endpointed('what time is it', { afterMs: 150, text: '' })], llm: [{ tokens: ['Noon.'] }] });
    expect(run.llm.calls).toHaveLength(1);
    expect(run.llm.calls[0]!.atMs).toBeLessThan(TURN_END_MS + 150);
    expect(run.llm.calls[0]!.atMs).toBeLessThanOrEqual(TURN_END_MS + FRAME_MS);
    expect(run.turns).toHaveLength(1);
  });

  it('the first sentence goes to the TTS as its last token arrives, not with the token after it', async () => {
    const run = await runEngine({
      caller: CALLER,
      stt: [endpointed('what time is it', { afterMs: 150, text: '' })],
      llm: [{ tokens: ['It', ' is', ' noon.', ' Anything', ' else?'], firstTokenMs: 250, gapMs: 100 }],
      tts: { firstByteMs: 120 },
    });
    expect(run.tts.texts[0]).toBe('It is noon.');
    // "noon." comes 250 + 2 × 100 ms after the request, the voice 120 ms later; " Anything" would be 100 ms more.
    const firstWrite = run.happenings.find((h) => h.kind === 'first_write')!.atMs;
    expect(firstWrite - run.llm.calls[0]!.atMs).toBeLessThanOrEqual(250 + 200 + 120 + FRAME_MS);
  });

  it('Deepgram ignores the Finalize (its docs allow it): no 500 ms grace on the way to the answer', async () => {
    const run = await runEngine({ caller: CALLER, stt: [endpointed('what time is it', 'ignored', 500)], llm: [{ tokens: ['Noon.'] }] });
    expect(run.llm.calls).toHaveLength(1);
    expect(run.llm.calls[0]!.atMs).toBeLessThanOrEqual(TURN_END_MS + FRAME_MS);
    expect(run.turns[0]!.endOfUtteranceDelayMs).toBeLessThanOrEqual(TURN_END_MS + FRAME_MS - 1_500);
  });

  it('words still pending at the turn end (an interim after the last final) are waited for: one answer, to all of them', async () => {
    const run = await runEngine({
      caller: CALLER,
      stt: [{ results: [{ atAudioMs: 700, final: 'what time', speechFinal: false }, { atAudioMs: 1_100, interim: 'is' }], flush: { afterMs: 150, text: 'is it' } }],
      llm: [{ tokens: ['Noon.'] }],
    });
    expect(run.llm.calls).toHaveLength(1);
    expect(run.llm.calls[0]!.request.messages).toEqual([{ role: 'user', text: 'what time is it' }]);
  });

  it('a late final word before the answer was heard: the answer is redone with the whole sentence, never a second answer', async () => {
    const run = await runEngine({
      caller: CALLER,
      stt: [endpointed('what time', { afterMs: 150, text: 'is it' })],
      llm: [{ tokens: ['It is ', 'noon.'], firstTokenMs: 250 }],
    });
    expect(run.llm.calls.map((c) => c.request.messages.at(-1)!.text)).toEqual(['what time', 'what time is it']);
    expect(run.llm.calls[0]!.aborted).toBe(true);
    expect(run.tts.texts).toEqual(['It is noon.']);
    expect(run.history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what time'],
      ['user', 'is it'],
      ['assistant', 'It is noon.'],
    ]);
    expect(run.conversation.history.messages.map((m) => m.text)).toEqual(['what time is it', 'It is noon.']);
    expect(run.turns).toHaveLength(1);
    expect(run.turns[0]!.userText).toBe('what time is it');
    const userFinal = run.happenings.filter((h) => h.kind === 'caption' && h.t.speaker === 'user' && h.t.final).at(-1);
    expect(userFinal?.kind === 'caption' && userFinal.t.text).toBe('what time is it');
  });

  it('a late final word once the answer is being heard: the words go into history, the answer plays on, no second answer', async () => {
    const run = await runEngine({
      caller: CALLER,
      stt: [endpointed('what time', { afterMs: 600, text: 'is it' })],
      llm: [{ tokens: ['It is noon, and a fine day for a walk in the park.'], firstTokenMs: 50 }],
    });
    expect(run.llm.calls).toHaveLength(1);
    expect(run.happenings.some((h) => h.kind === 'clear')).toBe(false);
    expect(run.conversation.history.messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what time is it'],
      ['assistant', 'It is noon, and a fine day for a walk in the park.'],
    ]);
    expect(run.turns).toHaveLength(1);
  });
});

describe('the STT hears the transport frames', () => {
  it('gets exactly the pre-roll and every frame after it, up to the turn end', async () => {
    const run = await runEngine({ caller: CALLER, stt: [endpointed('what time is it', { afterMs: 150, text: '' })], llm: [{ tokens: ['Noon.'] }] });
    const from = (500 - 200) * RATE_PER_MS;
    const to = TURN_END_MS * RATE_PER_MS;
    expect(run.stt.received).toHaveLength(1);
    expect(run.stt.received[0]!.length).toBe(to - from);
    expect(Buffer.from(run.stt.received[0]!.buffer).equals(Buffer.from(run.callerPcm.slice(from, to).buffer))).toBe(true);
  });

  it('a caller who goes on inside the VAD silence window: the next utterance starts where the last one stopped, no sample lost', async () => {
    const run = await runEngine({
      // The STT endpoint ends the first turn at 1.8 s; the caller goes on at 1.9 s, before the VAD's own end (2.06 s).
      caller: [...CALLER, { silenceMs: 400 }, { speakMs: 800 }],
      stt: [endpointed('what time is it', { afterMs: 100, text: '' }), { results: [{ atAudioMs: 1_200, final: 'and the date', speechFinal: true }], flush: { afterMs: 100, text: '' } }],
      llm: [{ tokens: ['Noon, the first.'] }],
    });
    expect(run.stt.received).toHaveLength(2);
    const heard = new Int16Array(run.stt.received[0]!.length + run.stt.received[1]!.length);
    heard.set(run.stt.received[0]!);
    heard.set(run.stt.received[1]!, run.stt.received[0]!.length);
    const from = 300 * RATE_PER_MS;
    expect(Buffer.from(heard.buffer).equals(Buffer.from(run.callerPcm.slice(from, from + heard.length).buffer))).toBe(true);
    // Both parts answered once, together.
    expect(run.conversation.history.messages.filter((m) => m.role === 'assistant')).toHaveLength(1);
    expect(run.llm.calls.at(-1)!.request.messages).toEqual([{ role: 'user', text: 'what time is it and the date' }]);
  });
});

describe('figures from the end of speech on the audio', () => {
  // No speech_final: the VAD side decides the turn. The VAD hears silence 64 ms after the voice stops (its decay).
  const vadDecided: SttScript = { results: [{ atAudioMs: 900, final: 'what time is it', speechFinal: false }], flush: { afterMs: 150, text: '' } };

  it('report and metrics count from the last loud frame, not from where the VAD heard silence', async () => {
    const run = await runEngine({ caller: CALLER, stt: [vadDecided], llm: [{ tokens: ['Noon.'] }] });
    const turn = run.turns[0]!;
    expect(turn.userSpeechEndedAtMs).toBe(1_500);
    expect(turn.endToEndMs).toBe(turn.agentAudioStartedAtMs! - 1_500);
    const metrics = run.happenings.find((h) => h.kind === 'turn');
    expect(metrics?.kind === 'turn' && metrics.metrics.responseDelayMs).toBe(Math.round(turn.endToEndMs!));
  });

  it('the end-of-turn silence (500 ms) counts from the end of speech on the audio, not from the VAD decay', async () => {
    const run = await runEngine({ caller: CALLER, stt: [vadDecided], llm: [{ tokens: ['Noon.'] }] });
    // Turn end at 1500 + 500; the flush is in hand 150 ms later; the VAD's own end would come at 1564 + 500.
    expect(run.llm.calls[0]!.atMs).toBe(2_000 + 160);
    expect(run.turns[0]!.endOfUtteranceDelayMs).toBe(660);
  });

  it('loud noise after the speech, which the VAD does not take for speech, neither delays the end of turn nor moves the end of speech', async () => {
    const run = await runEngine({
      caller: [...CALLER, { noiseMs: 2_000 }],
      vad: new ScriptedVad([{ atMs: 500, ms: 1_000 }], 500),
      stt: [vadDecided],
      llm: [{ tokens: ['Noon.'] }],
    });
    expect(run.turns[0]!.userSpeechEndedAtMs).toBe(1_500);
    expect(run.llm.calls[0]!.atMs).toBe(2_000 + 160);
  });
});
