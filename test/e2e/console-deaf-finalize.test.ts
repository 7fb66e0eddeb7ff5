// A Deepgram that never answers a Finalize (its docs say it "may"): a Finalize alone, the worker's flush 100 ms into
// the caller's silence, gets nothing back, and the words would wait for Deepgram's endpoint. The worker's first flush
// asks both ways (Finalize, then CloseStream at once), so the CloseStream brings the first turn's words, and shows
// that Finalize went unanswered: the worker says so once and flushes with CloseStream from then on, which Deepgram
// always answers. With DEEPGRAM_FLUSH=finalize it never switches, and every turn waits for the endpoint (the
// comparison that makes the first half of this test mean something).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleEnv, makeTempDir, runConsole, speechWav, startFakes, tearDown, TEST_TIMEOUT_MS, type Fakes } from './console-support.ts';

interface TraceLine {
  utterance: number;
  /** The words came with the STT's answer to the flush (absent: with its endpoint). */
  sttFlushedAt?: number;
}

/** The worker's turn_trace lines (one per answered turn), in order. */
function turnTraces(logs: string): TraceLine[] {
  return logs
    .split('\n')
    .filter((line) => line.includes('"turn_trace"'))
    .map((line) => JSON.parse(line) as TraceLine);
}

const userWords = (run: { report: { history: { role: string; text: string }[] } }) =>
  run.report.history.filter((m) => m.role === 'user').map((m) => m.text);

const switchLines = (logs: string) => logs.split('\n').filter((line) => line.includes('"stt_flush_switched"'));

describe('console: a Deepgram that answers no Finalize', { timeout: TEST_TIMEOUT_MS * 2 }, () => {
  let fakes: Fakes;
  let dir: string;
  let input: string;

  beforeAll(async () => {
    fakes = await startFakes();
    dir = await makeTempDir('console-deaf-finalize');
    input = await speechWav(dir, 'two-questions', [
      { silenceMs: 1_000 },
      { say: 'How far away is the moon' },
      // The answer (about 3 s of the fake's audio) is over before the next question: no talk over it.
      { silenceMs: 4_000 },
      { say: 'How old is the sun' },
      { silenceMs: 3_000 },
    ]);
  });
  afterAll(() => tearDown(fakes, dir));

  function deafDeepgram(): void {
    fakes.reset();
    fakes.deepgram.faults.push({ kind: 'ignoreFinalize', route: 'listen', times: 100 });
    fakes.deepgram.script.pushTranscripts('how far away is the moon?', 'how old is the sun?');
  }

  it('both turns\' words come with the flush\'s CloseStream, not the endpoint: the first flush learns that Finalize goes unanswered', async () => {
    deafDeepgram();
    const run = await runConsole({ input, dir, name: 'auto', env: consoleEnv(fakes), fast: false });
    expect(userWords(run), run.logs).toEqual(['how far away is the moon?', 'how old is the sun?']);
    const traces = turnTraces(run.logs);
    expect(traces, run.logs).toHaveLength(2);
    // Turn 1: the probe's CloseStream brought the words. Turn 2: the flush, a CloseStream alone, did.
    expect(traces.map((t) => t.sttFlushedAt !== undefined), run.logs).toEqual([true, true]);
    expect(switchLines(run.logs)).toHaveLength(1);
    // The kept socket, then one fresh socket per CloseStream flush (and one for the next utterance after it).
    expect(fakes.deepgram.requests.filter((r) => r.route === 'listen').length).toBeGreaterThanOrEqual(2);
  });

  it('with DEEPGRAM_FLUSH=finalize it keeps asking with Finalize: both turns wait for the endpoint, no word lost', async () => {
    deafDeepgram();
    const run = await runConsole({ input, dir, name: 'finalize', env: consoleEnv(fakes, { DEEPGRAM_FLUSH: 'finalize' }), fast: false });
    expect(userWords(run), run.logs).toEqual(['how far away is the moon?', 'how old is the sun?']);
    const traces = turnTraces(run.logs);
    expect(traces, run.logs).toHaveLength(2);
    expect(traces.map((t) => t.sttFlushedAt === undefined), run.logs).toEqual([true, true]);
    expect(switchLines(run.logs)).toEqual([]);
    // No socket per flush. (A turn whose audio ended before Deepgram's endpoint gets its words with a CloseStream
    // after the grace, on that socket: the next turn then opens one. Where the turn ends against the endpoint
    // depends on the voice's tail, so the count is bounded, not exact.)
    expect(fakes.deepgram.requests.filter((r) => r.route === 'listen').length).toBeLessThanOrEqual(2);
  });
});
