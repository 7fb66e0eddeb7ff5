// One interface, two transports: LiveKit (a real room) and the file console (a WAV in, a WAV out).
// The conversation engine sees only this: caller audio in, agent audio out, and a few room-level signals.

export type AgentState = 'initializing' | 'listening' | 'thinking' | 'speaking';

/** Agent audio going out. Writes never block; the transport paces playout in real time. */
export interface AudioSink {
  /** Sample rate the sink wants; the agent resamples to it. */
  readonly sampleRate: number;
  /** Queues agent audio (16-bit mono at `sampleRate`). */
  write(pcm: Int16Array): void;
  /** Stops playout at once (barge-in), dropping whatever is queued. Returns the ms of audio dropped. */
  clear(): number;
  /** Ms of agent audio actually played out so far (monotonic, across the whole session). */
  playedMs(): number;
  /** Ms queued and not yet played. */
  queuedMs(): number;
  /** Calls `listener` once with the epoch ms at which the next sample written leaves the worker (the turn trace). */
  onNextOut?(listener: (atEpochMs: number) => void): void;
}

export interface TransportEvents {
  /** A human caller is present (the first one arrived: greet them). */
  callerJoined(identity: string): void;
  /** The last human left the room. */
  callerLeft(identity: string): void;
}

export interface Transcription {
  /** 'user' for the caller's words, 'agent' for what the agent says. */
  speaker: 'user' | 'agent';
  text: string;
  final: boolean;
  /** Stable id so clients replace interim captions in place. */
  segmentId: string;
}

export interface Transport {
  /** Caller audio, 16-bit mono at `inputSampleRate`, in frames of 10–20 ms; ends when the caller's track or file ends. */
  readonly input: AsyncIterable<Int16Array>;
  readonly inputSampleRate: number;
  readonly output: AudioSink;
  /** Milliseconds on this transport's clock (the console's runs faster with --fast). */
  now(): number;
  /** Timers on the transport's clock: the console's virtual time must drive idle prompts and grace periods too. */
  setTimer(ms: number, fn: () => void): { cancel(): void };
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void;
  /** `lk.agent.state` participant attribute on LiveKit; recorded in the console. */
  setAgentState(state: AgentState): Promise<void>;
  /** Captions on the `lk.transcription` text-stream topic on LiveKit; recorded in the console. */
  publishTranscription(t: Transcription): Promise<void>;
  start(): Promise<void>;
  /** Leaves the room / finishes the output file. */
  close(): Promise<void>;
}
