// The console transport end to end: real WAV files in and out, the real virtual clock, the real resampler. Agent
// audio is written from timers on the transport's own clock, so every expectation is an exact sample position.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../../worker/audio/wav-read.ts';
import { createFileTransport, type FileTransport, type FileTransportOptions } from '../../../worker/transport/file.ts';
import { crossingsPerSecond, ramp, rms, sine, writeWav } from './wav-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'file-transport-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
const path = (name: string) => join(dir, `${++fileCounter}-${name}`);
const silentInput = (ms: number) => writeWav(path('silence.wav'), [new Int16Array(16 * ms)], 16000);

const OUT_RATE = 24000;
const at = (ms: number) => (ms * OUT_RATE) / 1000;

type Action = [atMs: number, act: (transport: FileTransport) => void];

interface Run {
  transport: FileTransport;
  out: Int16Array;
  outRate: number;
  closedAtMs: number;
}

/** Starts a transport, plays the actions at their virtual times, closes at `endAtMs` and reads the output back. */
async function runTimeline(endAtMs: number, actions: Action[], options: Partial<FileTransportOptions> = {}): Promise<Run> {
  const outputPath = path('out.wav');
  const transport = createFileTransport({ inputPath: silentInput(100), outputPath, speed: 1000, ...options });
  for (const [atMs, act] of actions) transport.setTimer(atMs, () => act(transport));
  const end = new Promise<void>((resolve) => transport.setTimer(endAtMs, resolve));
  await transport.start();
  await end;
  const closedAtMs = transport.now();
  await transport.close();
  const wav = decodeWav(readFileSync(outputPath));
  return { transport, out: wav.pcm, outRate: wav.sampleRate, closedAtMs };
}

function expectSilent(pcm: Int16Array, from: number, to: number): void {
  const loud = pcm.subarray(from, to).findIndex((sample) => sample !== 0);
  expect(loud, `sample ${from + loud} should be silent`).toBe(-1);
}

async function collect(input: AsyncIterable<Int16Array>): Promise<Int16Array[]> {
  const frames: Int16Array[] = [];
  for await (const frame of input) frames.push(frame);
  return frames;
}

describe('file transport output timeline', () => {
  it('lays agent audio written at virtual time t at sample t × rate, with silence everywhere else', async () => {
    const first = ramp(at(50));
    const second = ramp(at(30), 5000);
    const run = await runTimeline(400, [
      [100, (t) => t.output.write(first)],
      [300, (t) => t.output.write(second)],
    ]);

    expect(run.outRate).toBe(OUT_RATE);
    expect(run.out.length).toBe(at(run.closedAtMs));
    expectSilent(run.out, 0, at(100));
    expect(run.out.subarray(at(100), at(150))).toEqual(first);
    expectSilent(run.out, at(150), at(300));
    expect(run.out.subarray(at(300), at(330))).toEqual(second);
    expectSilent(run.out, at(330), run.out.length);
  });

  it('plays back-to-back writes contiguously, wherever the frame boundaries fall', async () => {
    // 7 ms and 31 ms pieces straddle the 20 ms frames: the queue must neither gap nor overlap them.
    const pieces = [ramp(at(7)), ramp(at(31), 400), ramp(at(12), 9000)];
    const run = await runTimeline(200, [[40, (t) => pieces.forEach((p) => t.output.write(p))]]);
    const expected = Int16Array.from(pieces.flatMap((p) => [...p]));
    expectSilent(run.out, 0, at(40));
    expect(run.out.subarray(at(40), at(40) + expected.length)).toEqual(expected);
    expectSilent(run.out, at(40) + expected.length, run.out.length);
  });

  it('clear() stops playout at once, drops what was queued and says how much', async () => {
    const speech = ramp(at(200));
    const seen: Record<string, number> = {};
    const run = await runTimeline(400, [
      [100, (t) => t.output.write(speech)],
      [
        160,
        (t) => {
          seen.playedBefore = t.output.playedMs();
          seen.queuedBefore = t.output.queuedMs();
          seen.dropped = t.output.clear();
          seen.queuedAfter = t.output.queuedMs();
        },
      ],
      [300, (t) => (seen.playedLater = t.output.playedMs())],
    ]);

    expect(seen).toEqual({ playedBefore: 60, queuedBefore: 140, dropped: 140, queuedAfter: 0, playedLater: 60 });
    expect(run.out.subarray(at(100), at(160))).toEqual(speech.subarray(0, at(60)));
    expectSilent(run.out, at(160), run.out.length);
  });

  it('pause() holds playout on the exact sample and resume() goes on from it, nothing lost or played twice', async () => {
    const speech = ramp(at(200));
    const seen: Record<string, number | boolean> = {};
    const run = await runTimeline(500, [
      [100, (t) => t.output.write(speech)],
      [160, (t) => (t.output.pause(), (seen.paused = t.output.paused), (seen.queuedAtPause = t.output.queuedMs()))],
      [260, (t) => ((seen.playedWhilePaused = t.output.playedMs()), t.output.resume(), (seen.pausedAfter = t.output.paused))],
    ]);

    expect(seen).toEqual({ paused: true, queuedAtPause: 140, playedWhilePaused: 60, pausedAfter: false });
    expect(run.out.subarray(at(100), at(160))).toEqual(speech.subarray(0, at(60)));
    expectSilent(run.out, at(160), at(260));
    expect(run.out.subarray(at(260), at(400))).toEqual(speech.subarray(at(60)));
    expectSilent(run.out, at(400), run.out.length);
  });

  it('counts playedMs and queuedMs to the sample', async () => {
    const readings: Array<[number, number, number]> = [];
    const read = (t: FileTransport) => readings.push([t.now(), t.output.playedMs(), t.output.queuedMs()]);
    await runTimeline(260, [
      [40, (t) => t.output.write(new Int16Array(at(100)).fill(1000))],
      [40, read],
      [60, read],
      [100, read],
      // 5 ms more while 40 ms are still queued: it follows on, it does not restart.
      [100, (t) => t.output.write(new Int16Array(at(5)).fill(1000))],
      [140, read],
      [160, read],
      [240, read],
    ]);
    expect(readings).toEqual([
      [40, 0, 100],
      [60, 20, 80],
      [100, 60, 40],
      [140, 100, 5],
      [160, 105, 0],
      [240, 105, 0],
    ]);
  });

  it('records agent states and transcriptions at their virtual times, and announces the caller at start', async () => {
    const joined: string[] = [];
    const transport = createFileTransport({ inputPath: silentInput(40), outputPath: path('out.wav'), speed: 1000 });
    transport.on('callerJoined', (identity) => joined.push(`${identity}@${transport.now()}`));
    transport.setTimer(40, () => void transport.setAgentState('thinking'));
    transport.setTimer(80, () => {
      void transport.setAgentState('speaking');
      void transport.publishTranscription({ speaker: 'agent', text: 'Hello there', final: false, segmentId: 'SG_1' });
    });
    const end = new Promise<void>((resolve) => transport.setTimer(120, resolve));
    await transport.setAgentState('listening');
    await transport.start();
    await end;
    await transport.close();

    expect(joined).toEqual(['console-caller@0']);
    expect(transport.agentStates).toEqual([
      { atMs: 0, state: 'listening' },
      { atMs: 40, state: 'thinking' },
      { atMs: 80, state: 'speaking' },
    ]);
    expect(transport.transcriptions).toEqual([{ atMs: 80, speaker: 'agent', text: 'Hello there', final: false, segmentId: 'SG_1' }]);
  });

  it('produces the same output at --fast speed as in real time, for the same writes at the same virtual times', async () => {
    const script = (): Action[] => [
      [60, (t) => t.output.write(sine(300, 90, OUT_RATE))],
      [100, (t) => void t.setAgentState('speaking')],
      [120, (t) => t.output.clear()],
      [200, (t) => t.output.write(ramp(at(45)))],
    ];
    const realTime = await runTimeline(300, script(), { speed: 1 });
    const fast = await runTimeline(300, script(), { speed: 20 });

    expect(fast.closedAtMs).toBe(realTime.closedAtMs);
    expect(Buffer.from(fast.out.buffer).equals(Buffer.from(realTime.out.buffer))).toBe(true);
    expect(fast.transport.agentStates).toEqual(realTime.transport.agentStates);
    // Not all silence: the comparison above compared something.
    expect(rms(realTime.out.subarray(at(60), at(120)))).toBeGreaterThan(1000);
  });
});

describe('file transport input', () => {
  const cases = [
    { name: '48 kHz stereo', rate: 48000, channels: 2 },
    { name: '44.1 kHz stereo', rate: 44100, channels: 2 },
    { name: '22.05 kHz mono', rate: 22050, channels: 1 },
    { name: '8 kHz mono', rate: 8000, channels: 1 },
  ];
  for (const { name, rate, channels } of cases) {
    it(`turns a ${name} WAV into 16 kHz mono 20 ms frames with the same sound`, async () => {
      const tone = sine(440, 1000, rate);
      const inputPath = writeWav(path(`${rate}-${channels}.wav`), Array.from({ length: channels }, () => tone), rate);
      const transport = createFileTransport({ inputPath, outputPath: path('out.wav'), speed: 1000 });
      await transport.start();
      const frames = await collect(transport.input);
      const endedAt = await transport.inputEnded;
      await transport.close();

      expect(transport.inputSampleRate).toBe(16000);
      expect(frames).toHaveLength(50);
      expect(frames.every((frame) => frame.length === 320)).toBe(true);
      expect(endedAt).toBe(1000);
      expect(transport.inputEndedAtMs).toBe(1000);
      // The middle of the signal, away from the resampler's start-up and tail: still a 440 Hz tone at full level.
      const middle = Int16Array.from(frames.slice(5, 45).flatMap((f) => [...f]));
      expect(rms(middle)).toBeGreaterThan(0.9 * rms(tone));
      expect(rms(middle)).toBeLessThan(1.1 * rms(tone));
      expect(crossingsPerSecond(middle, 16000)).toBeGreaterThan(870);
      expect(crossingsPerSecond(middle, 16000)).toBeLessThan(890);
    });
  }

  it('passes a 16 kHz mono file through sample for sample and pads the last frame with silence', async () => {
    const pcm = ramp(16 * 310);
    const transport = createFileTransport({ inputPath: writeWav(path('exact.wav'), [pcm], 16000), outputPath: path('out.wav'), speed: 1000 });
    await transport.start();
    const frames = await collect(transport.input);
    await transport.close();

    expect(frames).toHaveLength(16);
    const joined = Int16Array.from(frames.flatMap((f) => [...f]));
    expect(joined.subarray(0, pcm.length)).toEqual(pcm);
    expectSilent(joined, pcm.length, joined.length);
    expect(transport.inputEndedAtMs).toBe(320);
  });

  it('delivers each caller frame once its 20 ms have passed on the clock', async () => {
    const transport = createFileTransport({ inputPath: silentInput(100), outputPath: path('out.wav'), speed: 1000 });
    await transport.start();
    const times: number[] = [];
    for await (const _frame of transport.input) times.push(transport.now());
    await transport.close();
    expect(times).toEqual([20, 40, 60, 80, 100]);
  });

  it('ends the input with the file while the clock keeps ticking and the agent keeps talking', async () => {
    const run = await runTimeline(300, [[200, (t) => t.output.write(ramp(at(40)))]], { inputPath: silentInput(100) });
    expect(await run.transport.inputEnded).toBe(100);
    expect(await collect(run.transport.input)).toHaveLength(5);
    expect(run.closedAtMs).toBe(300);
    expect(run.out.length).toBe(at(300));
    expect(run.out.subarray(at(200), at(240))).toEqual(ramp(at(40)));
  });

  it('keeps feeding silent frames after the file when asked to', async () => {
    const transport = createFileTransport({
      inputPath: writeWav(path('short.wav'), [new Int16Array(16 * 40).fill(500)], 16000),
      outputPath: path('out.wav'),
      speed: 1000,
      padInputWithSilence: true,
    });
    await transport.start();
    const frames: Int16Array[] = [];
    for await (const frame of transport.input) {
      frames.push(frame);
      if (frames.length === 6) break;
    }
    await transport.close();
    expect(transport.inputEndedAtMs).toBe(40);
    expect(frames.slice(0, 2).every((f) => f.every((s) => s === 500))).toBe(true);
    expect(frames.slice(2).every((f) => f.length === 320 && f.every((s) => s === 0))).toBe(true);
  });

  it('rejects start() with the reader’s error for a file that is not a WAV, and still closes', async () => {
    const inputPath = path('not.wav');
    writeWav(inputPath, [new Int16Array(10)], 16000);
    const bytes = readFileSync(inputPath);
    bytes.write('JUNK', 0, 'ascii');
    writeFileSync(inputPath, bytes);
    const transport = createFileTransport({ inputPath, outputPath: path('out.wav'), speed: 1000 });
    await expect(transport.start()).rejects.toMatchObject({ name: 'WavFormatError', code: 'not_riff' });
    await transport.close();
  });
});
