// Agent audio into a LiveKit AudioSource. write() only queues; a pump feeds the source 20 ms frames and keeps at most
// `leadMs` inside it, so barge-in has little to drop on the native side and clearQueue() drops that little at once.
// playedMs() is what was captured minus what the source still holds (rtc-node estimates that on the wall clock).
// pause() empties the source too, but puts what it held back at the head of the queue (the sink remembers the last
// frames it handed on), so resume() goes on from the sample where the caller heard it stop.
import { setTimeout as sleep } from 'node:timers/promises';
import { AudioFrame, type AudioSource } from '@livekit/rtc-node';
import type { Logger } from '../log.ts';
import { OutWatch } from './out-watch.ts';
import { PlayoutQueue, samplesToMs } from './playout-queue.ts';
import type { AudioSink } from './types.ts';

export interface LiveKitAudioSinkOptions {
  /** Frames handed to the source (10–20 ms). */
  frameMs?: number;
  /** Most audio kept inside the source; above it the pump waits. Must stay below the source's own queue size. */
  leadMs?: number;
  logger?: Logger;
}

export class LiveKitAudioSink implements AudioSink {
  readonly sampleRate: number;
  readonly #source: AudioSource;
  readonly #queue = new PlayoutQueue();
  readonly #out = new OutWatch();
  readonly #frameSamples: number;
  readonly #leadMs: number;
  readonly #logger: Logger | undefined;
  readonly #stop = new AbortController();
  /** Ms handed to the source that were not dropped from it by clear(). */
  #capturedMs = 0;
  #playedMs = 0;
  #paused = false;
  /** The last frames handed to the source, newest last: enough to cover what it may still hold. */
  #handed: Int16Array[] = [];
  #handedSamples = 0;
  readonly #handedKeepSamples: number;
  #wakePump: (() => void) | undefined;
  #pump: Promise<void> | undefined;

  constructor(source: AudioSource, options: LiveKitAudioSinkOptions = {}) {
    const frameMs = options.frameMs ?? 20;
    this.sampleRate = source.sampleRate;
    this.#source = source;
    this.#frameSamples = Math.round((source.sampleRate * frameMs) / 1000);
    this.#leadMs = options.leadMs ?? 200;
    this.#logger = options.logger;
    this.#handedKeepSamples = Math.ceil((source.sampleRate * (this.#leadMs + 3 * frameMs)) / 1000);
    if (source.numChannels !== 1) throw new RangeError('the agent speaks mono: the AudioSource must have one channel');
    if (this.#leadMs + frameMs >= source.queueSize) {
      throw new RangeError(`leadMs (${this.#leadMs}) must leave room for a frame in the source's queue (${source.queueSize} ms)`);
    }
  }

  start(): void {
    this.#pump ??= this.#run();
  }

  write(pcm: Int16Array): void {
    if (this.#stop.signal.aborted || pcm.length === 0) return;
    this.#queue.push(pcm);
    this.#out.wrote(pcm.length);
    this.#wake();
  }

  clear(): number {
    const droppedSamples = this.#queue.clear();
    this.#out.dropped(droppedSamples);
    const droppedHereMs = samplesToMs(droppedSamples, this.sampleRate);
    const droppedInSourceMs = this.#source.queuedDuration;
    // After close() the transport may already have disposed of the source: nothing more is played anyway.
    if (!this.#stop.signal.aborted) this.#source.clearQueue();
    this.#capturedMs = Math.max(0, this.#capturedMs - droppedInSourceMs);
    this.#forgetHanded();
    return droppedHereMs + droppedInSourceMs;
  }

  get paused(): boolean {
    return this.#paused;
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (this.#stop.signal.aborted) return;
    const heldMs = this.#source.queuedDuration;
    this.#source.clearQueue();
    const back = this.#takeHandedTail(Math.round((heldMs * this.sampleRate) / 1000));
    this.#queue.unshift(back);
    this.#out.returned(back.length);
    this.#capturedMs = Math.max(0, this.#capturedMs - samplesToMs(back.length, this.sampleRate));
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#wake();
  }

  onNextOut(listener: (atEpochMs: number) => void): void {
    this.#out.onNextOut(listener);
  }

  playedMs(): number {
    // rtc-node's estimate moves in whole ms on the wall clock: never let it take back what was already reported.
    this.#playedMs = Math.max(this.#playedMs, this.#capturedMs - this.#source.queuedDuration);
    return this.#playedMs;
  }

  queuedMs(): number {
    return samplesToMs(this.#queue.queuedSamples, this.sampleRate) + this.#source.queuedDuration;
  }

  /** Stops the pump; what is still queued is not played. The source itself belongs to the caller. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#wake();
    await this.#pump;
  }

  #wake(): void {
    const wake = this.#wakePump;
    this.#wakePump = undefined;
    wake?.();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (this.#queue.queuedSamples === 0 || this.#paused) {
        await new Promise<void>((resolve) => {
          this.#wakePump = resolve;
        });
        continue;
      }
      const aheadMs = this.#source.queuedDuration;
      if (aheadMs > this.#leadMs) {
        await sleep(aheadMs - this.#leadMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      // A fresh buffer per frame: rtc-node hands the whole ArrayBuffer behind frame.data to the native side.
      const pcm = new Int16Array(Math.min(this.#frameSamples, this.#queue.queuedSamples));
      this.#queue.pullInto(pcm);
      this.#capturedMs += samplesToMs(pcm.length, this.sampleRate);
      this.#remember(pcm);
      // Handed to rtc-node now; after silence its source is empty, so this frame is the next one WebRTC sends.
      this.#out.wentOut(pcm.length);
      try {
        await this.#source.captureFrame(new AudioFrame(pcm, this.sampleRate, 1, pcm.length));
      } catch (error) {
        if (signal.aborted) return;
        this.#logger?.error({ err: error }, 'livekit audio source refused a frame');
      }
    }
  }

  #remember(pcm: Int16Array): void {
    this.#handed.push(pcm);
    this.#handedSamples += pcm.length;
    while (this.#handed.length > 1 && this.#handedSamples - this.#handed[0]!.length >= this.#handedKeepSamples) {
      this.#handedSamples -= this.#handed.shift()!.length;
    }
  }

  #forgetHanded(): void {
    this.#handed = [];
    this.#handedSamples = 0;
  }

  /** The newest `samples` of what was handed on (all of it when fewer were), in playing order. */
  #takeHandedTail(samples: number): Int16Array {
    const take = Math.min(samples, this.#handedSamples);
    const out = new Int16Array(take);
    let end = take;
    for (let i = this.#handed.length - 1; i >= 0 && end > 0; i--) {
      const frame = this.#handed[i]!;
      const n = Math.min(frame.length, end);
      out.set(frame.subarray(frame.length - n), end - n);
      end -= n;
    }
    this.#forgetHanded();
    return out;
  }
}
