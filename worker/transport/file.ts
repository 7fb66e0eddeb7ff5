// The console transport: a WAV file plays the caller, another records the agent. Both live on one virtual timeline:
// every tick of the clock hands the agent the next frame of the caller and lays the next frame of the agent's audio
// into the output at the same position, so the output WAV lines up with the input and the response delay can be
// measured on the waveform. --fast runs the same ticks faster in real time and yields the same timeline.
import { writeFile } from 'node:fs/promises';
import { FrameSlicer } from '../audio/frames.ts';
import { resample } from '../audio/resample.ts';
import { readWavFile } from '../audio/wav-read.ts';
import { encodeWav } from '../audio/wav.ts';
import { FrameQueue } from './frame-queue.ts';
import { OutWatch } from './out-watch.ts';
import { PlayoutQueue, samplesToMs } from './playout-queue.ts';
import { TransportListeners } from './transport-listeners.ts';
import type { AgentState, AudioSink, Transcription, Transport, TransportEvents, TurnMetrics } from './types.ts';
import { VirtualClock } from './virtual-clock.ts';

export interface FileTransportOptions {
  /** Any 16-bit PCM WAV, mono or stereo, any sample rate. */
  inputPath: string;
  /** Written at close(): 16-bit mono at outputSampleRate, as long as the timeline ran. */
  outputPath: string;
  /** 1 = real time (default); 20 for --fast. */
  speed?: number;
  frameMs?: number;
  inputSampleRate?: number;
  outputSampleRate?: number;
  /** After the file, keep feeding silent frames until close() instead of ending the input. */
  padInputWithSilence?: boolean;
  /** The identity callerJoined announces. */
  callerIdentity?: string;
}

export interface TimedAgentState {
  atMs: number;
  state: AgentState;
}

export interface TimedTranscription extends Transcription {
  atMs: number;
}

export interface FileTransport extends Transport {
  /** Resolves with the virtual time at which the last frame of the file was delivered. */
  readonly inputEnded: Promise<number>;
  readonly inputEndedAtMs: number | undefined;
  /** Every setAgentState call, with the virtual time it happened at. */
  readonly agentStates: readonly TimedAgentState[];
  /** Every publishTranscription call, with the virtual time it happened at. */
  readonly transcriptions: readonly TimedTranscription[];
  /** Every publishTurnMetrics call, with the virtual time it happened at. */
  readonly turnMetrics: readonly (TurnMetrics & { atMs: number })[];
}

export const CONSOLE_CALLER_IDENTITY = 'console-caller';

export function createFileTransport(options: FileTransportOptions): FileTransport {
  return new FileTimelineTransport(options);
}

class FileTimelineTransport implements FileTransport {
  readonly input: AsyncIterable<Int16Array>;
  readonly inputSampleRate: number;
  readonly output: AudioSink;
  readonly inputEnded: Promise<number>;
  readonly agentStates: TimedAgentState[] = [];
  readonly transcriptions: TimedTranscription[] = [];
  readonly turnMetrics: (TurnMetrics & { atMs: number })[] = [];
  readonly #options: FileTransportOptions;
  readonly #outputSampleRate: number;
  readonly #inputFrameSamples: number;
  readonly #outputFrameSamples: number;
  readonly #clock: VirtualClock;
  readonly #frames = new FrameQueue<Int16Array>();
  readonly #playout = new PlayoutQueue();
  #outputPaused = false;
  /** Which agent samples reached the output timeline (the turn trace's first frame out). */
  readonly #out = new OutWatch();
  readonly #listeners = new TransportListeners();
  /** The output timeline, one frame per tick; silent ticks share one empty frame. */
  readonly #timeline: Int16Array[] = [];
  readonly #silentOutputFrame: Int16Array;
  #callerFrames: Int16Array[] = [];
  #nextCallerFrame = 0;
  #playedSamples = 0;
  #inputEndedAtMs: number | undefined;
  #resolveInputEnded: (atMs: number) => void = () => undefined;
  #started: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: FileTransportOptions) {
    const frameMs = options.frameMs ?? 20;
    this.#options = options;
    this.inputSampleRate = options.inputSampleRate ?? 16000;
    this.#outputSampleRate = options.outputSampleRate ?? 24000;
    this.#inputFrameSamples = wholeSamples(frameMs, this.inputSampleRate, 'inputSampleRate');
    this.#outputFrameSamples = wholeSamples(frameMs, this.#outputSampleRate, 'outputSampleRate');
    this.#silentOutputFrame = new Int16Array(this.#outputFrameSamples);
    // The next tick waits until the agent has taken the caller's previous frame: its timings stay true under load.
    this.#clock = new VirtualClock({ frameMs, speed: options.speed ?? 1, onTick: () => this.#tick(), ready: () => this.#frames.size === 0 });
    this.input = this.#frames;
    this.output = this.#sink();
    this.inputEnded = new Promise((resolve) => {
      this.#resolveInputEnded = resolve;
    });
  }

  get inputEndedAtMs(): number | undefined {
    return this.#inputEndedAtMs;
  }

  now(): number {
    return this.#clock.now();
  }

  setTimer(ms: number, fn: () => void): { cancel(): void } {
    return this.#clock.setTimer(ms, fn);
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    this.#listeners.on(event, listener);
  }

  async setAgentState(state: AgentState): Promise<void> {
    this.agentStates.push({ atMs: this.now(), state });
  }

  async publishTranscription(t: Transcription): Promise<void> {
    this.transcriptions.push({ atMs: this.now(), ...t });
  }

  async publishTurnMetrics(metrics: TurnMetrics): Promise<void> {
    this.turnMetrics.push({ atMs: this.now(), ...metrics });
  }

  start(): Promise<void> {
    this.#started ??= this.#begin();
    return this.#started;
  }

  async #begin(): Promise<void> {
    const wav = await readWavFile(this.#options.inputPath);
    const slicer = new FrameSlicer(this.#inputFrameSamples);
    const pcm = resample(wav.pcm, wav.sampleRate, this.inputSampleRate);
    this.#callerFrames = slicer.push(pcm);
    const last = slicer.flush({ padToFrame: true });
    if (last.length > 0) this.#callerFrames.push(last);
    if (this.#closed) return;
    const errors = this.#listeners.emit('callerJoined', this.#options.callerIdentity ?? CONSOLE_CALLER_IDENTITY);
    if (errors.length > 0) throw errors[0];
    this.#clock.start();
  }

  close(): Promise<void> {
    this.#closed ??= this.#finish();
    return this.#closed;
  }

  async #finish(): Promise<void> {
    this.#clock.stop();
    this.#frames.end();
    await this.#started?.catch(() => undefined);
    const pcm = new Int16Array(this.#timeline.length * this.#outputFrameSamples);
    this.#timeline.forEach((frame, index) => pcm.set(frame, index * this.#outputFrameSamples));
    await writeFile(this.#options.outputPath, encodeWav(pcm, this.#outputSampleRate));
  }

  /** One frame of audio time has passed: lay out what the agent said during it, hand over what the caller said. */
  #tick(): void {
    // Audio written while the clock read t fills the slot starting at t, which is complete only now.
    const frame = new Int16Array(this.#outputFrameSamples);
    const pulled = this.#outputPaused ? 0 : this.#playout.pullInto(frame);
    this.#playedSamples += pulled;
    this.#out.wentOut(pulled);
    this.#timeline.push(pulled === 0 ? this.#silentOutputFrame : frame);

    const callerFrame = this.#callerFrames[this.#nextCallerFrame];
    if (callerFrame) {
      this.#nextCallerFrame++;
      this.#frames.push(callerFrame);
      if (this.#nextCallerFrame === this.#callerFrames.length) this.#inputFinished();
    } else if (this.#options.padInputWithSilence) {
      this.#frames.push(new Int16Array(this.#inputFrameSamples));
    }
    // An empty file has no frame to end on: it ends on the first tick.
    if (this.#callerFrames.length === 0 && this.#inputEndedAtMs === undefined) this.#inputFinished();
  }

  #inputFinished(): void {
    this.#inputEndedAtMs = this.now();
    if (!this.#options.padInputWithSilence) this.#frames.end();
    this.#resolveInputEnded(this.#inputEndedAtMs);
  }

  #sink(): AudioSink {
    const playout = this.#playout;
    const sampleRate = this.#outputSampleRate;
    // The getter below has its own `this`.
    const transport = this;
    return {
      sampleRate,
      write: (pcm) => (playout.push(pcm), this.#out.wrote(pcm.length)),
      clear: () => {
        const dropped = playout.clear();
        this.#out.dropped(dropped);
        return samplesToMs(dropped, sampleRate);
      },
      pause: () => void (this.#outputPaused = true),
      resume: () => void (this.#outputPaused = false),
      get paused() {
        return transport.#outputPaused;
      },
      onNextOut: (listener) => this.#out.onNextOut(listener),
      playedMs: () => samplesToMs(this.#playedSamples, sampleRate),
      queuedMs: () => samplesToMs(playout.queuedSamples, sampleRate),
    };
  }
}

/** Samples in one frame; the console's timeline has to be sample-exact, so a fractional frame is refused. */
function wholeSamples(frameMs: number, sampleRate: number, name: string): number {
  const samples = (frameMs * sampleRate) / 1000;
  if (!Number.isInteger(samples) || samples <= 0) {
    throw new RangeError(`${name} ${sampleRate} Hz does not divide into whole ${frameMs} ms frames`);
  }
  return samples;
}
