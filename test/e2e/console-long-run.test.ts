// A long conversation in one console process: sixteen short questions, each answered once, and nothing that grows
// with the number of turns. Growth is judged by count, never by time: the console's report.json carries a resource
// snapshot after every turn (active handles by type, open file descriptors, process listeners, live heap under
// --expose-gc), and the last turn is compared with the second, once every kept connection is open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../worker/audio/wav-read.ts';
import {
  FRAME_MS,
  consoleEnv,
  tearDown,
  loudMsWithin,
  loudRegions,
  makeTempDir,
  runConsole,
  speechWav,
  startFakes,
  type Fakes,
  type Part,
} from './console-support.ts';

const NUMBERS = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen'];
const MB = 1024 * 1024;
/** Handles of one kind may come and go by one between two snapshots (a timer armed or not at that instant). */
const COUNT_SLACK = 1;

describe('console: a long run', () => {
  let fakes: Fakes;
  let dir: string;

  beforeAll(async () => {
    fakes = await startFakes();
    dir = await makeTempDir('console-long-run');
  });

  afterAll(() => tearDown(fakes, dir));

  it('answers sixteen turns in order, and handles, sockets, listeners and memory do not grow with them', async () => {
    const parts: Part[] = [{ silenceMs: 1_000 }];
    for (const n of NUMBERS) parts.push({ say: `Tell me about number ${n}` }, { silenceMs: 3_000 });
    const inputPath = await speechWav(dir, 'long', parts);
    fakes.deepgram.script.pushTranscripts(...NUMBERS.map((n) => `tell me about number ${n}`));
    fakes.openai.script.pushReplies(...NUMBERS.map((n) => `This is answer ${n}.`));

    const { report, output } = await runConsole({ input: inputPath, dir, name: 'long', env: consoleEnv(fakes), nodeArgs: ['--expose-gc'], timeoutMs: 50_000 });

    // Every turn answered once, in order, on the waveform between the caller's turns.
    expect(report.turns.map((t) => [t.userText, t.agentText, t.interrupted])).toEqual(
      NUMBERS.map((n) => [`tell me about number ${n}`, `This is answer ${n}.`, false]),
    );
    const speech = loudRegions(await readWavFile(inputPath));
    const answers = loudRegions(output);
    expect(speech).toHaveLength(NUMBERS.length);
    expect(answers).toHaveLength(NUMBERS.length);
    answers.forEach((answer, i) => {
      expect(answer.startMs).toBeGreaterThanOrEqual(speech[i]!.endMs);
      expect(answer.endMs).toBeLessThanOrEqual(speech[i + 1]?.startMs ?? Number.POSITIVE_INFINITY);
      expect(Math.abs(answer.startMs - report.turns[i]!.agentAudioStartedAtMs!)).toBeLessThanOrEqual(2 * FRAME_MS);
      expect(loudMsWithin(output, speech[i]!.startMs, speech[i]!.endMs)).toBe(0);
    });

    const snapshots = report.diagnostics.resources;
    expect(snapshots.map((s) => s.at)).toEqual(['start', ...NUMBERS.map(() => 'turn'), 'end', 'closed']);
    expect(snapshots.filter((s) => s.at === 'turn').map((s) => s.turns)).toEqual(NUMBERS.map((_, i) => i + 1));
    const warm = snapshots.find((s) => s.turns === 2)!;
    const last = snapshots.find((s) => s.at === 'turn' && s.turns === NUMBERS.length)!;
    const end = snapshots.find((s) => s.at === 'end')!;

    for (const later of [last, end]) {
      for (const [type, count] of Object.entries(later.resources)) {
        expect(count, `${type} handles after ${later.turns} turns (${later.at}) vs after 2`).toBeLessThanOrEqual((warm.resources[type] ?? 0) + COUNT_SLACK);
      }
      expect(later.processListeners).toBe(warm.processListeners);
      if (warm.fileDescriptors !== undefined) expect(later.fileDescriptors!).toBeLessThanOrEqual(warm.fileDescriptors + COUNT_SLACK);
    }
    // Kept connections (the Deepgram socket) exist by turn 2, and stay one each.
    expect(warm.resources.TCPSocketWrap ?? 0).toBeLessThanOrEqual(2);

    // Memory: live heap (collected before each snapshot) and RSS within generous bounds over fourteen more turns.
    expect(last.heapUsedBytes - warm.heapUsedBytes).toBeLessThan(8 * MB);
    expect(last.rssBytes - warm.rssBytes).toBeLessThan(48 * MB);
  }, 60_000);
});
