// The console as a user runs it, on real speech: several caller turns in one file, each answered once and in order;
// checked on the output waveform itself (agent audio after each turn, silence while the caller speaks, first audio
// where report.json says), with and without a greeting, and from a stereo 48 kHz recording.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile, type DecodedWav } from '../../worker/audio/wav-read.ts';
import { ttsDurationMsFor } from '../fakes/kit/audio.ts';
import {
  FRAME_MS,
  TEST_TIMEOUT_MS,
  consoleEnv,
  convertWav,
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
  type ConsoleRun,
  type Fakes,
  type Region,
} from './console-support.ts';

const QUESTIONS = ['What is the weather like today', 'Tell me a joke about cats', 'How far away is the moon'];
const TRANSCRIPTS = ['what is the weather like today', 'tell me a joke about cats', 'how far away is the moon'];
// One sentence each, so each answer is one TTS request whose length ttsDurationMsFor predicts.
const REPLIES = ['It is sunny and warm.', 'Cats nap all day.', 'About four hundred thousand kilometres.'];
const GAP_MS = 4_000;

describe('console: several turns in one file', { timeout: TEST_TIMEOUT_MS }, () => {
  let fakes: Fakes;
  let dir: string;
  let threeQuestions: string;

  beforeAll(async () => {
    fakes = await startFakes();
    dir = await makeTempDir('console-turns');
    threeQuestions = await speechWav(dir, 'three', [
      { silenceMs: 1_000 },
      { say: QUESTIONS[0]! },
      { silenceMs: GAP_MS },
      { say: QUESTIONS[1]! },
      { silenceMs: GAP_MS },
      { say: QUESTIONS[2]! },
      { silenceMs: 1_000 },
    ]);
  });

  afterAll(() => tearDown(fakes, dir));

  function script(count: number): void {
    fakes.reset();
    fakes.deepgram.script.pushTranscripts(...TRANSCRIPTS.slice(0, count));
    fakes.openai.script.pushReplies(...REPLIES.slice(0, count));
  }

  /** One answer per caller turn, in order, each heard on the waveform after its turn and before the next. */
  function expectTurnsAnswered(run: ConsoleRun, input: DecodedWav, count: number): Region[] {
    const { report, output } = run;
    const speech = loudRegions(input);
    expect(speech, 'caller speech regions measured on the input').toHaveLength(count);

    expect(report.turns.map((t) => [t.userText, t.agentText, t.interrupted])).toEqual(
      TRANSCRIPTS.slice(0, count).map((text, i) => [text, REPLIES[i], false]),
    );
    expect(report.history.slice(-2 * count).map((m) => [m.role, m.text])).toEqual(
      TRANSCRIPTS.slice(0, count).flatMap((text, i) => [['user', text], ['assistant', REPLIES[i]]]),
    );

    // The output shares the input's timeline: it covers all of it.
    expect(durationMs(output)).toBeGreaterThanOrEqual(durationMs(input) - FRAME_MS);
    expect(Math.abs(durationMs(output) - report.timelineMs)).toBeLessThanOrEqual(FRAME_MS);

    for (const [i, turn] of report.turns.entries()) {
      const spoken = speech[i]!;
      const nextSpeechMs = speech[i + 1]?.startMs ?? durationMs(output);
      // The caller is heard out: no agent audio while the caller speaks.
      expect(loudMsWithin(output, spoken.startMs, spoken.endMs), `agent audio during caller turn ${i + 1}`).toBe(0);
      // The answer starts after the turn ended and before the next one.
      const startedMs = firstLoudMs(output, spoken.endMs, nextSpeechMs);
      expect(startedMs, `agent audio after caller turn ${i + 1}`).toBeDefined();
      // report.json says where: within a frame or two of the waveform.
      expect(turn.agentAudioStartedAtMs).toBeDefined();
      expect(Math.abs(startedMs! - turn.agentAudioStartedAtMs!)).toBeLessThanOrEqual(2 * FRAME_MS);
      expect(turn.userSpeechEndedAtMs!).toBeGreaterThanOrEqual(spoken.endMs - 3 * FRAME_MS);
      expect(turn.agentAudioStartedAtMs!).toBeGreaterThan(turn.userSpeechEndedAtMs!);
      expect(turn.endToEndMs).toBe(turn.agentAudioStartedAtMs! - turn.userSpeechEndedAtMs!);
      // The whole reply was played, and ended before the caller spoke again.
      const endedMs = lastLoudEndMs(output, startedMs!, nextSpeechMs)!;
      expect(Math.abs(endedMs - startedMs! - ttsDurationMsFor(REPLIES[i]!))).toBeLessThanOrEqual(2 * FRAME_MS);
      expect(endedMs).toBeLessThanOrEqual(nextSpeechMs);
    }
    return speech;
  }

  it('answers three questions once each, in order, between the questions, where the report says', async () => {
    script(3);
    const run = await runConsole({ input: threeQuestions, dir, name: 'three', env: consoleEnv(fakes) });
    const input = await readWavFile(threeQuestions);
    const speech = expectTurnsAnswered(run, input, 3);

    // GREETING='' → nothing at all before the first answer.
    expect(firstLoudMs(run.output, 0, run.report.turns[0]!.agentAudioStartedAtMs! - FRAME_MS)).toBeUndefined();
    expect(run.report.history).toHaveLength(6);
    // Exactly three stretches of agent audio: no extra answer, no idle prompt, no greeting.
    expect(loudRegions(run.output)).toHaveLength(3);
    // One LLM request per caller turn, each carrying what was said so far.
    const chats = fakes.openai.requests.filter((r) => r.route === 'chat');
    expect(chats).toHaveLength(3);
    expect(chats[2]!.bodyText).toContain(TRANSCRIPTS[0]);
    expect(chats[2]!.bodyText).toContain(REPLIES[1]);
    expect(speech[0]!.startMs).toBeGreaterThanOrEqual(1_000 - FRAME_MS);
    // Every provider call left a successful outcome: one transcription, one answer and one synthesis per turn.
    const ok = (modality: string) => run.report.outcomes.filter((o) => o.modality === modality && o.ok).map((o) => o.provider);
    expect([ok('stt'), ok('llm'), ok('tts')]).toEqual([Array(3).fill('deepgram'), Array(3).fill('openai'), Array(3).fill('elevenlabs')]);
    expect(run.report.summary).toMatchObject({ turns: 3, interruptions: 0, failovers: 0, failedAttempts: 0 });
  });

  it('with a greeting, speaks first, at the start of the output, then answers the caller', async () => {
    script(1);
    const greeting = 'Hello there. How can I help you?';
    const input = await speechWav(dir, 'after-greeting', [{ silenceMs: 3_500 }, { say: QUESTIONS[0]! }, { silenceMs: GAP_MS }]);
    const run = await runConsole({ input, dir, name: 'greeting', env: consoleEnv(fakes, { GREETING: greeting }) });
    const speech = expectTurnsAnswered(run, await readWavFile(input), 1);

    const greetingStartMs = firstLoudMs(run.output, 0, speech[0]!.startMs);
    expect(greetingStartMs, 'greeting audio at the start').toBeDefined();
    expect(greetingStartMs!).toBeLessThanOrEqual(500);
    const greetingEndMs = lastLoudEndMs(run.output, 0, speech[0]!.startMs)!;
    expect(greetingEndMs).toBeGreaterThan(greetingStartMs! + 1_000);
    expect(run.report.history[0]).toMatchObject({ role: 'assistant', text: greeting });
    expect(run.report.transcripts.filter((t) => t.speaker === 'agent').map((t) => t.text)[0]).toBe(greeting);
  });

  it('gives way at once when the caller speaks over the greeting, and answers them', async () => {
    script(1);
    const greeting = 'Hello and welcome to the demo line. I can answer questions about the weather, jokes and the moon.';
    const input = await speechWav(dir, 'over-greeting', [{ silenceMs: 800 }, { say: QUESTIONS[0]! }, { silenceMs: GAP_MS }]);
    const run = await runConsole({ input, dir, name: 'over-greeting', env: consoleEnv(fakes, { GREETING: greeting }) });
    const speech = loudRegions(await readWavFile(input));
    const onsetMs = speech[0]!.startMs;
    // The greeting stops once the VAD confirms speech (Silero's rise after the energy onset, then 150 ms), not after
    // BARGE_IN_MIN_MS (400 ms) of speech on top of that.
    const greetingEndMs = lastLoudEndMs(run.output, 0, speech[0]!.endMs)!;
    expect(greetingEndMs).toBeGreaterThan(onsetMs - FRAME_MS);
    expect(greetingEndMs - onsetMs).toBeLessThanOrEqual(400);
    // The caller's question is answered as usual, and the greeting is kept as far as it was heard.
    expect(run.report.turns.map((t) => [t.userText, t.agentText])).toEqual([[TRANSCRIPTS[0], REPLIES[0]]]);
    const heardGreeting = run.report.history[0]!;
    expect(heardGreeting).toMatchObject({ role: 'assistant', interrupted: true });
    expect(greeting.startsWith(heardGreeting.text)).toBe(true);
    expect(heardGreeting.text.length).toBeLessThan(greeting.length);
  });

  it('takes a stereo 48 kHz recording: same turns, same timeline as the mono original', async () => {
    script(2);
    const mono = await speechWav(dir, 'two', [
      { silenceMs: 1_000 },
      { say: QUESTIONS[0]! },
      { silenceMs: GAP_MS },
      { say: QUESTIONS[1]! },
      { silenceMs: 1_000 },
    ]);
    const stereo = await convertWav(mono, `${dir}/two-48k-stereo.wav`, 48_000, 2);
    const input = await readWavFile(stereo);
    expect(input).toMatchObject({ sampleRate: 48_000, sourceChannels: 2 });

    const run = await runConsole({ input: stereo, dir, name: 'stereo', env: consoleEnv(fakes) });
    const speech = expectTurnsAnswered(run, input, 2);
    const monoSpeech = loudRegions(await readWavFile(mono));
    speech.forEach((region, i) => {
      expect(Math.abs(region.startMs - monoSpeech[i]!.startMs)).toBeLessThanOrEqual(FRAME_MS);
      expect(Math.abs(region.endMs - monoSpeech[i]!.endMs)).toBeLessThanOrEqual(FRAME_MS);
    });
    expect(run.output.sampleRate).toBe(24_000);
  });
});
