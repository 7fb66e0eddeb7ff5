// The console with preemptive generation on (the default outside these tests), on real speech through the fake
// vendors: the fake OpenAI, given no script, echoes the caller's last words, so each answer says which words it was
// asked about. Every turn must be answered once, to its final words, with nothing stale heard on the waveform; the
// figures from the same run with it off are printed beside (speed goes to the bench, not into assertions).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../worker/audio/wav-read.ts';
import { consoleEnv, firstLoudMs, loudRegions, makeTempDir, runConsole, speechWav, startFakes, tearDown, TEST_TIMEOUT_MS, type Fakes } from './console-support.ts';

const QUESTIONS = ['What is the weather like today', 'Tell me a joke about cats', 'How far away is the moon'];
const TRANSCRIPTS = ['what is the weather like today', 'tell me a joke about cats', 'how far away is the moon'];
const echo = (text: string) => `You said: "${text}". That is interesting.`;

describe('console: preemptive generation', { timeout: TEST_TIMEOUT_MS }, () => {
  let fakes: Fakes;
  let dir: string;

  beforeAll(async () => {
    fakes = await startFakes();
    dir = await makeTempDir('console-preempt');
  });
  afterAll(() => tearDown(fakes, dir));

  it('answers each of three questions once, to its final words, and only after the caller stopped', async () => {
    const input = await speechWav(dir, 'three', [
      { silenceMs: 1_000 },
      { say: QUESTIONS[0]! },
      { silenceMs: 4_000 },
      { say: QUESTIONS[1]! },
      { silenceMs: 4_000 },
      { say: QUESTIONS[2]! },
      { silenceMs: 1_500 },
    ]);
    const runWith = async (preemptive: 'on' | 'off') => {
      fakes.reset();
      fakes.deepgram.script.pushTranscripts(...TRANSCRIPTS);
      return runConsole({ input, dir, name: `three-${preemptive}`, env: consoleEnv(fakes, { PREEMPTIVE_GENERATION: preemptive }) });
    };
    const run = await runWith('on');
    const chats = fakes.openai.requests.filter((r) => r.route === 'chat').length;

    expect(run.report.turns.map((t) => [t.userText, t.agentText, t.interrupted])).toEqual(TRANSCRIPTS.map((t) => [t, echo(t), false]));
    expect(run.report.history.map((m) => m.text)).toEqual(TRANSCRIPTS.flatMap((t) => [t, echo(t)]));
    // Three stretches of agent audio, each after its question: no stale answer was ever played.
    const speech = loudRegions(await readWavFile(input));
    expect(loudRegions(run.output)).toHaveLength(3);
    for (const [i, turn] of run.report.turns.entries()) {
      expect(firstLoudMs(run.output, speech[i]!.startMs, speech[i]!.endMs)).toBeUndefined();
      expect(turn.agentAudioStartedAtMs!).toBeGreaterThan(speech[i]!.endMs);
    }
    // Dropped speculations (the STT's interim lagging the last word) cost requests, bounded per turn.
    expect(chats).toBeGreaterThanOrEqual(3);
    expect(chats).toBeLessThanOrEqual(3 * 4);

    const off = await runWith('off');
    const delays = (r: typeof run) => r.report.turns.map((t) => Math.round(t.endToEndMs ?? NaN));
    console.log(`console --fast, end of speech → first audio: preemptive on ${delays(run).join('/')} ms (${chats} LLM requests), off ${delays(off).join('/')} ms`);
  });
});
