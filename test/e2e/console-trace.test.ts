// The `turn_trace` line the bench's waterfall is built from (test/bench/waterfall.ts): one per answered turn, every
// stage present, in pipeline order, on the epoch clock, with word counts and never the words. Run through the console
// on the file transport, so the line comes from the same code a launched worker runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRACE_STAGES } from '../../worker/agent/turn-trace.ts';
import { TEST_TIMEOUT_MS, consoleEnv, makeTempDir, runConsole, speechWav, startFakes, tearDown, type Fakes } from './console-support.ts';

const TRANSCRIPTS = ['what time is it', 'tell me a joke'];
// The first reply has a clause the chunker may cut at: the trace must count the words of the first chunk only.
const REPLIES = ['It is ten past nine, and the sun is shining brightly.', 'Cats nap all day.'];

describe('console: the turn trace', { timeout: TEST_TIMEOUT_MS }, () => {
  let fakes: Fakes;
  let dir: string;

  beforeAll(async () => {
    fakes = await startFakes();
    dir = await makeTempDir('console-trace');
  });
  afterAll(() => tearDown(fakes, dir));

  it('logs one turn_trace per answered turn with every stage in order on the epoch clock', async () => {
    const input = await speechWav(dir, 'two', [{ silenceMs: 800 }, { say: 'What time is it' }, { silenceMs: 4_000 }, { say: 'Tell me a joke' }, { silenceMs: 3_000 }]);
    fakes.deepgram.script.pushTranscripts(...TRANSCRIPTS);
    fakes.openai.script.pushReplies(...REPLIES);
    const startedAt = Date.now();
    const run = await runConsole({ input, dir, name: 'trace', env: consoleEnv(fakes) });
    const finishedAt = Date.now();

    const traces = run.logs
      .split('\n')
      .filter((line) => line.includes('"turn_trace"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(traces, run.logs).toHaveLength(2);
    for (const [i, trace] of traces.entries()) {
      const times = TRACE_STAGES.map((stage) => trace[stage]);
      expect(times.every((t) => typeof t === 'number'), `every stage in ${JSON.stringify(trace)}`).toBe(true);
      const ms = times as number[];
      // Pipeline order (equal is fine: two stages may fall in the same millisecond).
      for (let k = 1; k < ms.length; k++) expect(ms[k]!, `${TRACE_STAGES[k]} after ${TRACE_STAGES[k - 1]}`).toBeGreaterThanOrEqual(ms[k - 1]!);
      // Epoch ms, not a transport clock: inside the run's wall-clock window.
      expect(ms[0]!).toBeGreaterThanOrEqual(startedAt - 1);
      expect(ms.at(-1)!).toBeLessThanOrEqual(finishedAt + 1);
      expect(['vad_silence', 'stt_endpoint']).toContain(trace.endSignal);
      // The utterance's last loud frame came in before its turn ended (it may trail the VAD's first silence).
      expect(trace.lastLoudInAt as number).toBeLessThanOrEqual(trace.turnEndAt as number);
      expect(trace.lastLoudInAt as number).toBeGreaterThanOrEqual(startedAt - 1);
      expect(trace.firstTextWords).toBeGreaterThan(0);
      expect(trace.firstTextWords).toBeLessThanOrEqual(REPLIES[i]!.split(' ').length);
      expect(trace.level).toBe('info');
    }
    // The turns come one after the other.
    expect(traces[1]!.vadSilenceAt as number).toBeGreaterThan(traces[0]!.firstFrameOutAt as number);
    // Counts, never the words.
    const lines = JSON.stringify(traces);
    for (const text of [...TRANSCRIPTS, ...REPLIES]) expect(lines).not.toContain(text.split(' ').slice(0, 3).join(' '));
  });
});
