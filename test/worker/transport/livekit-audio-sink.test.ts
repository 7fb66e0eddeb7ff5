// The LiveKit audio sink on a real rtc-node AudioSource (native, no server needed: the source plays out on its own
// clock whether or not a room hears it). The source is instrumented, not replaced, to see the frames it is handed.
import { AudioSource, type AudioFrame } from '@livekit/rtc-node';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveKitAudioSink } from '../../../worker/transport/livekit-audio-sink.ts';
import { sleep, waitFor } from '../../support/wait.ts';

const RATE = 24000;
const ms = (duration: number) => new Int16Array((RATE * duration) / 1000).fill(3000);

/** A real AudioSource that also notes each frame it captures and how much it already held at that moment. */
class WatchedSource extends AudioSource {
  readonly captured: Array<{ samples: number; heldMs: number; first: number }> = [];
  override async captureFrame(frame: AudioFrame): Promise<void> {
    this.captured.push({ samples: frame.samplesPerChannel, heldMs: this.queuedDuration, first: frame.data[0]! });
    await super.captureFrame(frame);
  }
}

const open: Array<{ sink: LiveKitAudioSink; source: AudioSource }> = [];
function sinkOnRealSource(leadMs = 100) {
  const source = new WatchedSource(RATE, 1, 1000);
  const sink = new LiveKitAudioSink(source, { leadMs });
  sink.start();
  open.push({ sink, source });
  return { sink, source };
}

afterEach(async () => {
  for (const { sink, source } of open.splice(0)) {
    await sink.close();
    await source.close();
  }
});

describe('LiveKitAudioSink on a real AudioSource', () => {
  it('plays everything written, in 20 ms frames, never keeping more than the lead inside the source', async () => {
    const { sink, source } = sinkOnRealSource(100);
    sink.write(ms(300));
    expect(sink.queuedMs()).toBe(300);
    expect(sink.sampleRate).toBe(RATE);

    const readings: number[] = [];
    await waitFor('all 300 ms played', () => {
      readings.push(sink.playedMs());
      return sink.queuedMs() === 0 && sink.playedMs() === 300;
    }, 5_000, 10);

    expect(readings.every((played, i) => i === 0 || played >= readings[i - 1]!)).toBe(true);
    expect(readings.every((played) => played <= 300)).toBe(true);
    expect(source.captured.reduce((sum, c) => sum + c.samples, 0)).toBe(ms(300).length);
    expect(source.captured.every((c) => c.samples <= 480)).toBe(true);
    expect(Math.max(...source.captured.map((c) => c.heldMs))).toBeLessThanOrEqual(100);
  });

  it('write() returns at once even with far more audio than the source can hold', () => {
    const { sink } = sinkOnRealSource();
    sink.write(ms(5000));
    expect(sink.queuedMs()).toBe(5000);
    expect(sink.clear()).toBe(5000);
    expect(sink.queuedMs()).toBe(0);
  });

  it('clear() stops playout at once: played + dropped = written, and nothing plays after', async () => {
    const { sink, source } = sinkOnRealSource(200);
    sink.write(ms(2000));
    await waitFor('playout under way', () => sink.playedMs() >= 60, 5_000, 5);

    const dropped = sink.clear();
    const playedAtClear = sink.playedMs();
    expect(sink.queuedMs()).toBe(0);
    // rtc-node reports what it holds in whole ms of the wall clock: allow that one ms.
    expect(Math.abs(playedAtClear + dropped - 2000)).toBeLessThanOrEqual(1);
    expect(playedAtClear).toBeLessThan(2000);

    const capturedAtClear = source.captured.length;
    await sleep(150);
    expect(sink.playedMs()).toBe(playedAtClear);
    expect(source.captured.length).toBe(capturedAtClear);

    // And it plays again after a barge-in.
    sink.write(ms(40));
    await waitFor('the next reply played', () => sink.queuedMs() === 0 && sink.playedMs() >= playedAtClear + 40 - 1, 5_000, 10);
  });

  it('pause() stops what the caller hears at once and resume() goes on from that sample, even what the source held', async () => {
    const { sink, source } = sinkOnRealSource(200);
    // Every sample says where it is (in 1/24 ms steps, wrapping below int16's limit), so a resumed frame tells where it began.
    const ramp = Int16Array.from({ length: RATE * 2 }, (_, i) => i % 30_000);
    sink.write(ramp);
    await waitFor('playout under way', () => sink.playedMs() >= 300, 5_000, 5);

    sink.pause();
    expect(sink.paused).toBe(true);
    const playedAtPause = sink.playedMs();
    // What the source held came back to the queue: nothing was dropped.
    expect(Math.abs(playedAtPause + sink.queuedMs() - 2000)).toBeLessThanOrEqual(1);
    const capturedAtPause = source.captured.length;
    await sleep(200);
    expect(sink.playedMs()).toBe(playedAtPause);
    expect(source.captured.length).toBe(capturedAtPause);

    sink.resume();
    expect(sink.paused).toBe(false);
    await waitFor('the rest played', () => sink.queuedMs() === 0 && sink.playedMs() >= 2000 - 1, 5_000, 10);
    // The first frame after resume starts where the caller heard it stop (rtc-node's estimate moves in whole ms).
    const resumedAt = source.captured[capturedAtPause]!.first;
    expect(Math.abs(resumedAt - Math.round((playedAtPause * RATE) / 1000))).toBeLessThanOrEqual(RATE / 1000);
    // Handed on in all: everything once, plus what the source held at the pause a second time.
    const handed = source.captured.reduce((sum, c) => sum + c.samples, 0);
    expect(handed).toBeGreaterThanOrEqual(ramp.length);
    expect(handed - ramp.length).toBeLessThanOrEqual((RATE * 220) / 1000);
  });

  it('clear() while paused drops everything and the next reply plays', async () => {
    const { sink } = sinkOnRealSource(100);
    sink.write(ms(1000));
    await waitFor('playout under way', () => sink.playedMs() >= 100, 5_000, 5);
    sink.pause();
    const played = sink.playedMs();
    expect(sink.clear()).toBeGreaterThan(0);
    expect(sink.queuedMs()).toBe(0);
    sink.resume();
    sink.write(ms(40));
    await waitFor('the next reply played', () => sink.queuedMs() === 0 && sink.playedMs() >= played + 40 - 1, 5_000, 10);
  });

  it('refuses a lead that would not leave the source room for a frame', () => {
    const source = new AudioSource(RATE, 1, 100);
    expect(() => new LiveKitAudioSink(source, { leadMs: 100 })).toThrow(RangeError);
    return source.close();
  });
});
