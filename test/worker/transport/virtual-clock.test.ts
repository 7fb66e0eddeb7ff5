// The console's clock stepped by hand (tick()), and the small queues both transports share: exact, no wall clock.
import { describe, expect, it } from 'vitest';
import { FrameQueue } from '../../../worker/transport/frame-queue.ts';
import { PlayoutQueue } from '../../../worker/transport/playout-queue.ts';
import { VirtualClock } from '../../../worker/transport/virtual-clock.ts';

function handClock(frameMs = 20) {
  const ticks: number[] = [];
  const clock = new VirtualClock({ frameMs, speed: 1, onTick: (nowMs) => ticks.push(nowMs) });
  return { clock, ticks };
}

describe('VirtualClock', () => {
  it('advances one frame per tick, the tick callback first', () => {
    const { clock, ticks } = handClock();
    expect(clock.now()).toBe(0);
    clock.tick();
    clock.tick();
    expect(ticks).toEqual([20, 40]);
    expect(clock.now()).toBe(40);
  });

  it('fires a timer on the first tick at or after its due time, in due order, and not when cancelled', () => {
    const { clock } = handClock();
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(25, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(40, () => fired.push(`c@${clock.now()}`));
    clock.setTimer(40, () => fired.push(`d@${clock.now()}`));
    clock.setTimer(20, () => fired.push('cancelled')).cancel();
    for (let i = 0; i < 3; i++) clock.tick();
    expect(fired).toEqual(['a@40', 'b@40', 'c@40', 'd@40']);
  });

  it('runs a timer set by a timer on a later tick, so a re-arming timer cannot spin', () => {
    const { clock } = handClock();
    const fired: number[] = [];
    const again = () => {
      fired.push(clock.now());
      clock.setTimer(0, again);
    };
    clock.setTimer(0, again);
    for (let i = 0; i < 3; i++) clock.tick();
    expect(fired).toEqual([20, 40, 60]);
  });

  it('paces ticks at frameMs / speed once started, and stops', async () => {
    const ticks: number[] = [];
    const clock = new VirtualClock({ frameMs: 20, speed: 20, onTick: (nowMs) => ticks.push(nowMs) });
    const tenTicks = new Promise<void>((resolve) => clock.setTimer(200, resolve));
    const startedAt = performance.now();
    clock.start();
    await tenTicks;
    clock.stop();
    // Pacing is a floor: ten 20 ms frames at speed 20 cannot take less than 10 ms of real time.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(9);
    expect(ticks).toEqual([20, 40, 60, 80, 100, 120, 140, 160, 180, 200]);
    expect(clock.running).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(clock.now()).toBe(200);
  });

  it('waits for its reader before ticking, and gives up waiting after maxWaitMs', async () => {
    let ready = false;
    const ticks: number[] = [];
    const clock = new VirtualClock({ frameMs: 20, speed: 1_000, onTick: (t) => ticks.push(t), ready: () => ready, maxWaitMs: 10_000 });
    clock.start();
    await new Promise((r) => setTimeout(r, 60));
    expect(ticks).toEqual([]);
    ready = true;
    await new Promise((r) => setTimeout(r, 60));
    clock.stop();
    expect(ticks.length).toBeGreaterThan(2);

    const stuck: number[] = [];
    const impatient = new VirtualClock({ frameMs: 20, speed: 1_000, onTick: (t) => stuck.push(t), ready: () => false, maxWaitMs: 20 });
    impatient.start();
    await new Promise((r) => setTimeout(r, 200));
    impatient.stop();
    expect(stuck.length).toBeGreaterThan(0);
    expect(stuck.length).toBeLessThan(15);
  });

  it('refuses a speed or frame that is not positive', () => {
    expect(() => new VirtualClock({ frameMs: 20, speed: 0, onTick: () => undefined })).toThrow(RangeError);
    expect(() => new VirtualClock({ frameMs: 0, speed: 1, onTick: () => undefined })).toThrow(RangeError);
  });
});

describe('PlayoutQueue', () => {
  it('hands out samples in order across chunk boundaries and copies what it is given', () => {
    const queue = new PlayoutQueue();
    const first = Int16Array.from([1, 2, 3]);
    queue.push(first);
    queue.push(Int16Array.from([4, 5]));
    first.fill(0);
    const out = new Int16Array(4);
    expect(queue.pullInto(out)).toBe(4);
    expect([...out]).toEqual([1, 2, 3, 4]);
    expect(queue.queuedSamples).toBe(1);
    expect(queue.pullInto(out)).toBe(1);
    expect(out[0]).toBe(5);
    expect(queue.pullInto(out)).toBe(0);
  });

  it('clear() drops everything and reports how much', () => {
    const queue = new PlayoutQueue();
    queue.push(new Int16Array(100));
    queue.pullInto(new Int16Array(30));
    expect(queue.clear()).toBe(70);
    expect(queue.queuedSamples).toBe(0);
  });
});

describe('FrameQueue', () => {
  it('hands frames to a waiting reader and ends after what was queued', async () => {
    const queue = new FrameQueue<number>();
    const read: number[] = [];
    const reader = (async () => {
      for await (const frame of queue) read.push(frame);
    })();
    queue.push(1);
    queue.push(2);
    queue.end();
    queue.push(3);
    await reader;
    expect(read).toEqual([1, 2]);
  });

  it('keeps only the newest maxFrames while nobody reads, and counts the dropped', async () => {
    const queue = new FrameQueue<number>({ maxFrames: 3 });
    for (let i = 1; i <= 5; i++) queue.push(i);
    queue.end();
    const read: number[] = [];
    for await (const frame of queue) read.push(frame);
    expect(read).toEqual([3, 4, 5]);
    expect(queue.droppedFrames).toBe(2);
  });

  it('has one reader', () => {
    const queue = new FrameQueue<number>();
    queue[Symbol.asyncIterator]();
    expect(() => queue[Symbol.asyncIterator]()).toThrow(/one reader/);
  });
});
