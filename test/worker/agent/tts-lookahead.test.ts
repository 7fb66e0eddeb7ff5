// Synthesis stays a couple of sentences ahead of playout: a long answer interrupted early costs the sentences heard
// plus the lookahead, never the whole answer; an answer nobody interrupts still plays without gaps. Through the real
// engine on the console transport's virtual clock, with ElevenLabs (the real SDK against the fake) 10x faster than
// playout, so without the bound it would have synthesised the whole story long before the caller cut in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TTS_LOOKAHEAD } from '../../../worker/agent/answer.ts';
import { ttsDurationMsFor } from '../../fakes/kit/audio.ts';
import { runConversation, startVendors, ttsTexts, type Vendors } from './conversation-harness.ts';

const STORY = [
  'Once upon a time a small boat left the harbour.',
  'The sea was calm and the sky was clear.',
  'A sailor sang old songs to pass the time.',
  'Far away a storm was slowly building.',
  'The waves grew taller as the night came.',
  'The sailor held the wheel with both hands.',
  'At dawn the storm finally passed.',
  'The boat came home safe and sound.',
  'Everyone in the village came to greet him.',
  'And he never sailed in a storm again.',
];
const SECOND_REPLY = 'Of course, go ahead.';
/** Playout at 5x real time: the fake's TTS (50x) stays well ahead of it even on a busy machine. */
const SPEED = 5;

/** Index of the sentence playing `heardMs` into the answer. */
function playingAt(heardMs: number): number {
  let endMs = 0;
  for (const [i, sentence] of STORY.entries()) {
    endMs += ttsDurationMsFor(sentence);
    if (heardMs < endMs) return i;
  }
  return STORY.length;
}

describe('TTS lookahead', () => {
  let vendors: Vendors;
  beforeAll(async () => {
    vendors = await startVendors();
  });
  afterAll(() => vendors.close());

  it('after a barge-in, ElevenLabs was asked for the sentences heard plus at most the lookahead', async () => {
    vendors.openai.reset();
    vendors.elevenlabs.reset();
    vendors.openai.script.pushReplies(STORY.join(' '), SECOND_REPLY);
    const run = await runConversation({
      vendors,
      inputMs: 12_000,
      // The question, then the caller talks over the answer about 3.5 s into it.
      speech: [
        { atMs: 500, ms: 1_000 },
        { atMs: 5_000, ms: 1_000 },
      ],
      transcripts: ['tell me a long story', 'wait, another question'],
      speed: SPEED,
    });
    const states = run.transport.agentStates;
    const speaking = states.find((s) => s.state === 'speaking')!;
    const cut = states.find((s) => s.state === 'listening' && s.atMs > speaking.atMs)!;
    const playing = playingAt(cut.atMs - speaking.atMs);
    expect(playing).toBeLessThan(3);

    const story = ttsTexts(vendors.elevenlabs).filter((t) => STORY.includes(t));
    // The sentences heard (the one playing included), and no more than the lookahead beyond them.
    expect(story).toEqual(STORY.slice(0, story.length));
    expect(story.length).toBeGreaterThanOrEqual(playing + 1);
    expect(story.length).toBeLessThanOrEqual(playing + 1 + TTS_LOOKAHEAD.maxChunks);
    // The second answer was spoken, and the history keeps only what was heard of the first.
    expect(ttsTexts(vendors.elevenlabs).join(' ')).toContain(SECOND_REPLY);
    const first = run.history.find((m) => m.role === 'assistant')!;
    expect(first).toMatchObject({ interrupted: true });
    expect(STORY.join(' ').startsWith(first.text)).toBe(true);
  });

  it('an answer nobody interrupts is synthesised whole, in order, and plays without gaps', async () => {
    vendors.openai.reset();
    vendors.elevenlabs.reset();
    vendors.openai.script.pushReplies(STORY.join(' '));
    const run = await runConversation({ vendors, inputMs: 30_000, speech: [{ atMs: 500, ms: 1_000 }], transcripts: ['tell me a long story'], speed: SPEED });
    expect(ttsTexts(vendors.elevenlabs)).toEqual(STORY);
    const states = run.transport.agentStates;
    const speaking = states.find((s) => s.state === 'speaking')!;
    const over = states.find((s) => s.state === 'listening' && s.atMs > speaking.atMs)!;
    const audioMs = STORY.reduce((sum, s) => sum + ttsDurationMsFor(s), 0);
    // Playout is one continuous run of the audio: a frame of slack per sentence and the drain's poll at the end.
    expect(over.atMs - speaking.atMs).toBeGreaterThanOrEqual(audioMs);
    expect(over.atMs - speaking.atMs).toBeLessThanOrEqual(audioMs + STORY.length * 20 + 120);
    expect(run.history.at(-1)).toMatchObject({ role: 'assistant', text: STORY.join(' ') });
  });
});
