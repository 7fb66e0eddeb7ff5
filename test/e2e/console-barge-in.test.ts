// Barge-in through the whole console, measured on the waveform: a caller who talks over a long answer for longer than
// BARGE_IN_MIN_MS silences the agent within a bounded time of their speech onset, and the history keeps only what was
// heard; a short sound over the agent (heard by the VAD as speech, but brief) does not cut it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../worker/audio/wav-read.ts';
import { ttsDurationMsFor } from '../fakes/kit/audio.ts';
import {
  FRAME_MS,
  TEST_TIMEOUT_MS,
  consoleEnv,
  durationMs,
  firstLoudMs,
  tearDown,
  lastLoudEndMs,
  loudMsWithin,
  loudRegions,
  makeTempDir,
  runConsole,
  speechWav,
  startFakes,
  vadSpeech,
  words,
  type Fakes,
  type Region,
} from './console-support.ts';

const BARGE_IN_MIN_MS = 400;
/**
 * How late after the caller's energy onset the output may still sound: BARGE_IN_MIN_MS of speech counted from the
 * VAD's onset, which Silero places up to a couple of 32 ms windows from the energy onset and confirms on window
 * boundaries, then the frame in which the barge-in is decided and the one being laid out.
 */
const VAD_ONSET_AND_WINDOW_MS = 100;
const STOP_BOUND_MS = BARGE_IN_MIN_MS + VAD_ONSET_AND_WINDOW_MS + 2 * FRAME_MS;

const STORY = [
  'Once upon a time a small boat left the harbour.',
  'The sea was calm and the sky was clear.',
  'A sailor sang old songs to pass the time.',
  'Far away a storm was slowly building.',
  'The waves grew taller as the night came.',
  'The sailor held the wheel with both hands.',
  'At dawn the storm finally passed.',
  'The boat came home safe and sound.',
];
const SECOND_REPLY = 'Of course, go ahead.';

describe('console: barge-in', { timeout: TEST_TIMEOUT_MS }, () => {
  let fakes: Fakes;
  let dir: string;

  beforeAll(async () => {
    fakes = await startFakes();
    dir = await makeTempDir('console-barge-in');
  });

  afterAll(() => tearDown(fakes, dir));

  const cases = [
    // Eight sentences take longer to synthesise than the caller waits: the cut lands while text is still on its way.
    { when: 'while the answer is still being synthesised', story: STORY, waitMs: 3_000 },
    // Three sentences are all synthesised and queued long before they finish playing: the cut lands in the playout.
    { when: 'while its queued audio plays out', story: STORY.slice(0, 3), waitMs: 6_000 },
  ];

  it.each(cases)('a caller talking over a long answer $when cuts it within the bound; the history keeps what was heard', async ({ when, story, waitMs }) => {
    fakes.reset();
    const reply = story.join(' ');
    fakes.deepgram.script.pushTranscripts('tell me a long story about the sea', 'wait a moment i have another question');
    fakes.openai.script.pushReplies(reply, SECOND_REPLY);
    const name = `barge-in-${story.length}`;
    const inputPath = await speechWav(dir, name, [
      { silenceMs: 1_000 },
      { say: 'Tell me a long story about the sea' },
      { silenceMs: waitMs },
      { say: 'Wait a moment I have another question for you' },
      { silenceMs: 4_000 },
    ]);
    const run = await runConsole({ input: inputPath, dir, name, env: consoleEnv(fakes, { BARGE_IN_MIN_MS: String(BARGE_IN_MIN_MS) }) });
    const { report, output } = run;
    const speech = loudRegions(await readWavFile(inputPath));
    expect(speech).toHaveLength(2);
    const [question, interruption] = speech as [Region, Region];
    // The interruption is longer than BARGE_IN_MIN_MS.
    expect(interruption.endMs - interruption.startMs).toBeGreaterThan(BARGE_IN_MIN_MS + 500);

    const agentStartMs = firstLoudMs(output, question.endMs, interruption.startMs);
    expect(agentStartMs, 'the agent answered the first question').toBeDefined();
    // The agent was speaking when the caller began: sound in the last 300 ms before the onset.
    expect(loudMsWithin(output, interruption.startMs - 300, interruption.startMs)).toBeGreaterThan(0);
    const agentChunks = report.transcripts.filter((t) => t.speaker === 'agent' && t.segmentId.startsWith('agent-1-'));
    if (when === cases[1]!.when) {
      // Every sentence had its caption (and audio) queued before the caller spoke: the cut came during the playout.
      const queued = agentChunks.filter((t) => t.atMs < interruption.startMs);
      expect(queued.map((t) => t.text)).toEqual(story);
      // After the cut, captions only correct those segments to what was heard: a prefix of each, never new text.
      for (const correction of agentChunks.filter((t) => t.atMs >= interruption.startMs)) {
        const original = queued.find((t) => t.segmentId === correction.segmentId);
        expect(original, `a correction of ${correction.segmentId}`).toBeDefined();
        expect(original!.text.startsWith(correction.text)).toBe(true);
        expect(correction.text.length).toBeLessThan(original!.text.length);
      }
    }

    // The cut, on the waveform: the last agent sound before the caller's interruption is over.
    const cutMs = lastLoudEndMs(output, agentStartMs!, interruption.endMs)!;
    expect(cutMs - interruption.startMs, 'agent silent within the bound after the onset').toBeLessThanOrEqual(STOP_BOUND_MS);
    // …and not before BARGE_IN_MIN_MS of speech could have been heard (less the fake voice's 55 ms word gaps).
    expect(cutMs - interruption.startMs).toBeGreaterThanOrEqual(BARGE_IN_MIN_MS - VAD_ONSET_AND_WINDOW_MS);
    // Cut, not finished: the whole answer would have run well past the cut.
    const replyMs = story.reduce((ms, s) => ms + ttsDurationMsFor(s), 0);
    expect(cutMs - agentStartMs!).toBeLessThan(replyMs - 500);
    expect(loudMsWithin(output, cutMs, interruption.endMs)).toBe(0);

    expect(report.turns).toHaveLength(2);
    expect(report.turns[0]!.interrupted).toBe(true);
    expect(report.summary.interruptions).toBe(1);
    // The interruption became the next turn, answered after the caller finished.
    expect(report.turns[1]).toMatchObject({ userText: 'wait a moment i have another question', agentText: SECOND_REPLY, interrupted: false });
    const secondStartMs = firstLoudMs(output, interruption.endMs, durationMs(output));
    expect(Math.abs(secondStartMs! - report.turns[1]!.agentAudioStartedAtMs!)).toBeLessThanOrEqual(2 * FRAME_MS);

    // History: only what was heard of the answer, a strict prefix of it by words.
    const assistant = report.history.filter((m) => m.role === 'assistant');
    expect(assistant).toHaveLength(2);
    const heard = assistant[0]!;
    expect(heard.interrupted).toBe(true);
    const heardWords = words(heard.text);
    const replyWords = words(reply);
    expect(heardWords.length).toBeGreaterThan(0);
    expect(heardWords.length).toBeLessThan(replyWords.length);
    expect(replyWords.slice(0, heardWords.length)).toEqual(heardWords);
    expect(report.turns[0]!.agentText).toBe(heard.text);
    // As many words as the audio played before the cut carried (the fake voice: 55 ms a character), give or take
    // the sentence in progress, whose words count only when wholly played.
    const playedMs = cutMs - agentStartMs!;
    const longestSentenceMs = Math.max(...story.map(ttsDurationMsFor));
    expect(ttsDurationMsFor(heard.text)).toBeLessThanOrEqual(playedMs + 55 * story.length);
    expect(ttsDurationMsFor(heard.text)).toBeGreaterThanOrEqual(playedMs - longestSentenceMs);
    expect(assistant[1]).toMatchObject({ text: SECOND_REPLY });
  });

  it('a short sound over the agent does not interrupt it: the whole answer plays and stays in the history', async () => {
    fakes.reset();
    const reply = STORY.slice(0, 3).join(' ');
    fakes.deepgram.script.pushTranscripts('tell me a short story', 'mm');
    fakes.openai.script.pushReplies(reply);
    const inputPath = await speechWav(dir, 'burst', [
      { silenceMs: 1_000 },
      { say: 'Tell me a short story' },
      { silenceMs: 2_500 },
      { burstOf: 'yeah', ms: 220 },
      { silenceMs: 8_000 },
    ]);
    const speech = loudRegions(await readWavFile(inputPath));
    expect(speech).toHaveLength(2);
    const burst = speech[1]!;
    expect(burst.endMs - burst.startMs).toBeGreaterThanOrEqual(140);
    expect(burst.endMs - burst.startMs).toBeLessThanOrEqual(260);
    // The console's VAD does hear it as speech: only its brevity keeps it from being a barge-in.
    const heardAsSpeech = await vadSpeech(inputPath, dir);
    expect(heardAsSpeech.some((r) => r.startMs < burst.endMs && r.endMs > burst.startMs - 100)).toBe(true);

    const run = await runConsole({ input: inputPath, dir, name: 'burst', env: consoleEnv(fakes, { BARGE_IN_MIN_MS: String(BARGE_IN_MIN_MS) }) });
    const { report, output } = run;
    const agentStartMs = firstLoudMs(output, speech[0]!.endMs, burst.startMs);
    expect(agentStartMs).toBeDefined();
    // The agent was speaking over the burst…
    expect(loudMsWithin(output, burst.startMs - 200, burst.endMs)).toBeGreaterThan(0);
    // …and went on to the end of its answer: every sentence, at full length.
    const expectedMs = STORY.slice(0, 3).reduce((ms, s) => ms + ttsDurationMsFor(s), 0);
    const endMs = lastLoudEndMs(output, agentStartMs!, durationMs(output))!;
    expect(endMs - agentStartMs!).toBeGreaterThanOrEqual(expectedMs - 2 * FRAME_MS);
    expect(endMs).toBeGreaterThan(burst.endMs + 2_000);

    expect(report.turns).toHaveLength(1);
    expect(report.turns[0]).toMatchObject({ interrupted: false, agentText: reply });
    expect(report.summary.interruptions).toBe(0);
    expect(report.history.map((m) => [m.role, m.text, m.interrupted ?? false])).toEqual([
      ['user', 'tell me a short story', false],
      ['assistant', reply, false],
    ]);
  });
});
