// The conversation engine on the fast harness (virtual clock, scripted edges): how turns start and end, barge-in,
// talk over the agent that is no turn, and the greeting giving way.
import { describe, expect, it } from 'vitest';
import { FRAME_MS, runEngine, type SttScript } from './engine-harness.ts';

const finalAt = (atAudioMs: number, text: string): SttScript => ({
  results: [
    { atAudioMs: Math.max(20, atAudioMs - 600), interim: text.split(' ')[0]! },
    { atAudioMs, final: text, speechFinal: true },
  ],
  flush: { afterMs: 150, text: '' },
});

const spoken = (run: Awaited<ReturnType<typeof runEngine>>) => run.happenings.filter((h) => h.kind === 'caption' && h.t.speaker === 'agent').map((h) => (h.kind === 'caption' ? h.t.text : ''));

describe('conversation engine (fast harness)', () => {
  it('answers a turn the STT endpoint ends early, once, with the whole transcript', async () => {
    // Speech 500..1500; the utterance's audio starts 200 ms before the onset; Deepgram's speech_final 300 ms after the end.
    const run = await runEngine({ caller: [{ silenceMs: 500 }, { speakMs: 1_000 }], stt: [finalAt(1_500, 'what time is it')], llm: [{ tokens: ['It is ', 'noon.'] }] });
    expect(run.llm.calls).toHaveLength(1);
    expect(run.llm.calls[0]!.request.messages).toEqual([{ role: 'user', text: 'what time is it' }]);
    // The endpoint came at 1800 with 300 ms of quiet audio (≥ EARLY_END_SILENCE 200): the turn ends there, not at 2000.
    expect(run.llm.calls[0]!.atMs).toBeLessThanOrEqual(1_800 + FRAME_MS);
    expect(run.turns).toHaveLength(1);
    expect(run.history.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(spoken(run)).toEqual(['It is noon.']);
  });

  it('barge-in: speech over the agent longer than BARGE_IN_MIN_MS stops playback, keeps what was heard, answers the new turn', async () => {
    const run = await runEngine({
      // The answer (~4 s of audio) starts at ~2.2 s; the caller talks over it from 3.0 s for 1 s.
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 1_500 }, { speakMs: 1_000 }],
      stt: [finalAt(1_500, 'tell me a story'), finalAt(1_500, 'stop please')],
      llm: [{ tokens: ['Once upon a time there was a very long story that went on and on and on. ', 'And on.'], firstTokenMs: 100 }, { tokens: ['Sure.'] }],
    });
    const clear = run.happenings.find((h) => h.kind === 'clear');
    expect(clear, 'playback was cut').toBeDefined();
    // Cut after BARGE_IN_MIN_MS (400) of speech over the agent, counted from the onset at 3000 (a frame of slack).
    expect(clear!.atMs).toBeGreaterThanOrEqual(3_000 + 400);
    expect(clear!.atMs).toBeLessThanOrEqual(3_000 + 400 + 2 * FRAME_MS);
    const interrupted = run.history.find((m) => m.role === 'assistant' && m.interrupted);
    expect(interrupted?.text.length).toBeGreaterThan(0);
    expect('Once upon a time there was a very long story that went on and on and on.').toContain(interrupted!.text);
    expect(run.llm.calls.map((c) => c.request.messages.at(-1)!.text)).toEqual(['tell me a story', 'stop please']);
  });

  it('a short sound over the agent is no turn: the answer plays on whole and nothing is asked of the LLM', async () => {
    const run = await runEngine({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 1_200 }, { speakMs: 200 }],
      stt: [finalAt(1_500, 'tell me a story'), finalAt(400, 'mhm')],
      llm: [{ tokens: ['Once upon a time there was a story that went on for a while. ', 'The end.'], firstTokenMs: 100 }],
    });
    expect(run.happenings.some((h) => h.kind === 'clear')).toBe(false);
    expect(run.llm.calls).toHaveLength(1);
    expect(run.history.filter((m) => m.role === 'assistant')).toEqual([expect.objectContaining({ text: 'Once upon a time there was a story that went on for a while. The end.' })]);
    expect(run.history.some((m) => m.role === 'user' && m.text.includes('mhm'))).toBe(false);
  });

  // The answer "It is noon." (11 characters at 100 ms) plays from about 2.05 s to 3.15 s.
  const overTheEnd = (caller: { speakMs: number }) =>
    runEngine({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 1_400 }, caller],
      stt: [finalAt(1_500, 'what time is it'), finalAt(caller.speakMs, caller.speakMs > 400 ? 'and what day is it' : 'mhm')],
      llm: [{ tokens: ['It is noon.'] }, { tokens: ['Tuesday.'] }],
      tts: { msPerChar: 100 },
    });

  it('a question begun over the agent\'s last words, going on after it finished, is the caller\'s turn', async () => {
    const run = await overTheEnd({ speakMs: 1_200 });
    // It began (onset 2.9 s, confirmed 100 ms later) while the agent spoke, with less than BARGE_IN_MIN_MS over it.
    const finished = run.stateAt('listening', 2_100)!;
    expect(finished).toBeGreaterThan(3_000);
    expect(finished).toBeLessThan(2_900 + 400);
    expect(run.happenings.some((h) => h.kind === 'clear')).toBe(false);
    expect(run.llm.calls.map((c) => c.request.messages.at(-1)!.text)).toEqual(['what time is it', 'and what day is it']);
    expect(run.history.at(-1)).toMatchObject({ role: 'assistant', text: 'Tuesday.' });
  });

  it('a short sound across the end of the agent\'s answer is still no turn', async () => {
    const run = await overTheEnd({ speakMs: 250 });
    expect(run.stateAt('listening', 2_100)).toBeGreaterThan(3_000);
    expect(run.llm.calls).toHaveLength(1);
    expect(run.history.some((m) => m.role === 'user' && m.text.includes('mhm'))).toBe(false);
  });

  it('false interruption (today): a sound that cut an answer still thinking, but had no words, gets that answer redone', async () => {
    const run = await runEngine({
      // The turn ends at 1.8 s and the LLM takes 800 ms; a cough at 2.1 s lands while the agent thinks.
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 600 }, { speakMs: 200 }],
      stt: [finalAt(1_500, 'what is the weather'), { results: [], flush: { afterMs: 100, text: '' } }],
      llm: [{ tokens: ['Sunny.'], firstTokenMs: 800 }],
    });
    expect(run.llm.calls).toHaveLength(2);
    expect(run.llm.calls[0]!.aborted).toBe(true);
    expect(run.llm.calls[1]!.request.messages).toEqual([{ role: 'user', text: 'what is the weather' }]);
    expect(run.history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what is the weather'],
      ['assistant', 'Sunny.'],
    ]);
  });

  it('the greeting gives way at once when the caller speaks, and the caller is answered', async () => {
    const run = await runEngine({
      greeting: 'Hello and welcome to the test line, how can I help you today?',
      caller: [{ silenceMs: 600 }, { speakMs: 800 }],
      stt: [finalAt(1_300, 'hi')],
      llm: [{ tokens: ['Hi there.'] }],
    });
    const clear = run.happenings.find((h) => h.kind === 'clear');
    // Onset 600, confirmed by the VAD 100 ms later: the greeting stops on that frame.
    expect(clear!.atMs).toBeLessThanOrEqual(700 + FRAME_MS);
    const greeting = run.history[0]!;
    expect(greeting).toMatchObject({ role: 'assistant', interrupted: true });
    expect(run.llm.calls).toHaveLength(1);
    expect(run.history.at(-1)).toMatchObject({ role: 'assistant', text: 'Hi there.' });
  });
});
