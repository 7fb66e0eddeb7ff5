// False interruptions on the fast harness: talk over the agent long enough to be a barge-in pauses it at once; the
// STT's first word for that speech confirms the interruption, no word lets the agent play on from where it stopped.
import { describe, expect, it } from 'vitest';
import { FRAME_MS, runEngine, type EngineRun, type EngineScript, type SttScript } from './engine-harness.ts';

const STORY = 'Once upon a time there was a story that went on for a while. ';
const MS_PER_CHAR = 40;
const finalAt = (atAudioMs: number, text: string): SttScript => ({
  results: [
    { atAudioMs: Math.max(20, atAudioMs - 600), interim: text.split(' ')[0]! },
    { atAudioMs, final: text, speechFinal: true },
  ],
  flush: { afterMs: 150, text: '' },
});
/** A sound the STT finds no words in: nothing while it lasts, an empty flush after (Deepgram's Finalize, 100 ms). */
const noWords: SttScript = { results: [], flush: { afterMs: 100, text: '' } };

const on = { resumeFalseInterruptions: true };
const run = (s: EngineScript) => runEngine({ ...s, tts: { msPerChar: MS_PER_CHAR, ...s.tts }, options: { ...on, ...s.options } });
const kinds = (r: EngineRun, ...k: string[]) => r.happenings.filter((h) => k.includes(h.kind));
const agentCaptions = (r: EngineRun) => r.happenings.flatMap((h) => (h.kind === 'caption' && h.t.speaker === 'agent' ? [h.t.text] : []));
const states = (r: EngineRun, fromMs: number) => r.happenings.flatMap((h) => (h.kind === 'state' && h.atMs >= fromMs ? [h.state] : []));

// The story's audio starts at ≈ 2.0 s; the caller coughs over it from 2.6 s for 500 ms (a barge-in's worth, 400 ms, and more).
const COUGH = [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 1_100 }, { speakMs: 500 }];
const COUGH_ONSET_MS = 2_600;
const COUGH_END_MS = 3_100;

describe('false interruptions', () => {
  it('a cough over the agent: paused at once, resumed from the same sample once the STT found no words; the answer whole in history', async () => {
    const r = await run({ caller: COUGH, stt: [finalAt(1_500, 'tell me a story'), noWords], llm: [{ tokens: [STORY, 'The end.'], firstTokenMs: 100 }] });
    const [pause, resume] = [kinds(r, 'pause')[0]!, kinds(r, 'resume')[0]!];
    // Paused when the cough had lasted a barge-in's worth (400 ms after its onset, a frame of slack).
    expect(pause.atMs).toBeGreaterThanOrEqual(COUGH_ONSET_MS + 400);
    expect(pause.atMs).toBeLessThanOrEqual(COUGH_ONSET_MS + 400 + 2 * FRAME_MS);
    expect(kinds(r, 'clear')).toEqual([]);
    expect(resume.atMs).toBeGreaterThan(COUGH_END_MS);
    // The agent went quiet while paused, and said it was speaking again when it resumed.
    expect(states(r, pause.atMs).slice(0, 2)).toEqual(['listening', 'speaking']);
    // Nothing lost, nothing doubled: the whole answer was played, exactly once.
    const answerMs = (STORY.trim().length + 'The end.'.length) * MS_PER_CHAR;
    expect(r.conversation.state.state).toBe('listening');
    expect(r.turns[0]!.interrupted).toBe(false);
    expect(playedMs(r)).toBe(answerMs);
    expect(r.llm.calls).toHaveLength(1);
    expect(r.tts.texts).toEqual([STORY.trim(), 'The end.']);
    expect(agentCaptions(r)).toEqual([STORY.trim(), 'The end.']);
    expect(r.history.map((m) => [m.role, m.text, m.interrupted ?? false])).toEqual([
      ['user', 'tell me a story', false],
      ['assistant', `${STORY.trim()} The end.`, false],
    ]);
    const delayMs = resume.atMs - COUGH_END_MS;
    console.log(`resume delay after the sound: ${delayMs} ms (paused ${resume.atMs - pause.atMs} ms)`);
    // The utterance closes after EARLY_END_SILENCE (200) of quiet, its flush answers 100 ms later: well under LiveKit's ≈ 2 s.
    expect(delayMs).toBeLessThanOrEqual(200 + 100 + 2 * FRAME_MS);
  });

  it('a real barge-in: paused at once, cut at the first word; history and captions keep what was heard before the pause', async () => {
    const r = await run({
      caller: [...COUGH.slice(0, 3), { speakMs: 1_000 }],
      stt: [finalAt(1_500, 'tell me a story'), finalAt(1_300, 'stop please')],
      llm: [{ tokens: [STORY, 'The end.'], firstTokenMs: 100 }, { tokens: ['Sure.'] }],
    });
    const pause = kinds(r, 'pause')[0]!;
    const clear = kinds(r, 'clear')[0]!;
    expect(pause.atMs).toBeLessThanOrEqual(COUGH_ONSET_MS + 400 + 2 * FRAME_MS);
    // The first interim ("stop") comes 700 ms into the utterance's audio (which starts 200 ms before the onset).
    expect(clear.atMs).toBe(COUGH_ONSET_MS - 200 + 700);
    expect(clear.atMs).toBeGreaterThan(pause.atMs);
    // Nothing played between the pause and the cut: what was heard is what played before the pause.
    const cut = r.history.find((m) => m.role === 'assistant')!;
    expect(cut.interrupted).toBe(true);
    const heardWords = Math.floor(STORY.trim().split(' ').length * ((pause.atMs - firstWriteAt(r)) / (STORY.trim().length * MS_PER_CHAR)));
    expect(cut.text).toBe(STORY.trim().split(' ').slice(0, heardWords).join(' '));
    expect(agentCaptions(r)).toContain(cut.text);
    expect(r.history.slice(-2).map((m) => m.text)).toEqual(['stop please', 'Sure.']);
    // The next answer does not start paused.
    expect(r.happenings.filter((h) => h.kind === 'first_write').length).toBe(2);
    expect(playedMs(r)).toBeGreaterThan('Sure.'.length * MS_PER_CHAR);
  });

  it('a cough that cut an answer before it played still gets that answer redone', async () => {
    const r = await run({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 600 }, { speakMs: 200 }],
      stt: [finalAt(1_500, 'what is the weather'), noWords],
      llm: [{ tokens: ['Sunny.'], firstTokenMs: 800 }],
    });
    expect(r.llm.calls).toHaveLength(2);
    expect(r.llm.calls[0]!.aborted).toBe(true);
    expect(r.llm.calls[1]!.request.messages).toEqual([{ role: 'user', text: 'what is the weather' }]);
    expect(r.history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what is the weather'],
      ['assistant', 'Sunny.'],
    ]);
  });

  it('a sound that goes on without words (noise the VAD takes for speech): the agent plays on after the bounded hold', async () => {
    const r = await run({ caller: [...COUGH.slice(0, 3), { speakMs: 2_500 }], stt: [finalAt(1_500, 'tell me a story'), noWords], llm: [{ tokens: [STORY, 'The end.'], firstTokenMs: 100 }] });
    const [pause, resume] = [kinds(r, 'pause')[0]!, kinds(r, 'resume')[0]!];
    expect(resume.atMs - pause.atMs).toBe(1_500);
    expect(resume.atMs).toBeLessThan(COUGH_ONSET_MS + 2_500);
    expect(kinds(r, 'clear')).toEqual([]);
    expect(r.history.at(-1)).toMatchObject({ role: 'assistant', text: `${STORY.trim()} The end.` });
  });

  it('a cough over the greeting: it pauses and plays on', async () => {
    const r = await run({
      greeting: 'Hello and welcome to the test line, how can I help you today?',
      caller: [{ silenceMs: 600 }, { speakMs: 300 }],
      stt: [noWords],
      llm: [{ tokens: ['unused'] }],
    });
    expect(kinds(r, 'pause')[0]!.atMs).toBeLessThanOrEqual(700 + FRAME_MS);
    expect(kinds(r, 'clear')).toEqual([]);
    expect(r.llm.calls).toEqual([]);
    expect(r.history).toEqual([expect.objectContaining({ role: 'assistant', text: 'Hello and welcome to the test line, how can I help you today?' })]);
    expect(r.history[0]!.interrupted).toBeUndefined();
  });

  it('switched off (RESUME_FALSE_INTERRUPTIONS=off): the cough cuts the answer as before', async () => {
    const r = await run({ caller: COUGH, stt: [finalAt(1_500, 'tell me a story'), noWords], llm: [{ tokens: [STORY, 'The end.'], firstTokenMs: 100 }], options: { resumeFalseInterruptions: false } });
    expect(kinds(r, 'pause')).toEqual([]);
    expect(kinds(r, 'clear')).toHaveLength(1);
    expect(r.history.at(-1)).toMatchObject({ role: 'assistant', interrupted: true });
  });
});

function firstWriteAt(r: EngineRun): number {
  return r.happenings.find((h) => h.kind === 'first_write')!.atMs;
}

function playedMs(r: EngineRun): number {
  return r.transport.output.playedMs();
}
