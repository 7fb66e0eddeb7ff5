// The LiveKit transport: the worker joins its room as an agent participant, hears the caller's microphone, speaks
// through a published microphone track, and tells clients what it is doing the way LiveKit's own agents do (the
// `lk.agent.state` attribute, captions as text streams on `lk.transcription`), so existing clients work unchanged.
import {
  AudioSource,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackPublishOptions,
  TrackSource,
  type LocalParticipant,
  type LocalTrackPublication,
} from '@livekit/rtc-node';
import type { Logger } from '../log.ts';
import { FrameQueue } from './frame-queue.ts';
import { CallerMicrophone } from './livekit-caller.ts';
import { LiveKitAudioSink } from './livekit-audio-sink.ts';
import { mintAgentToken } from './livekit-token.ts';
import { TransportListeners } from './transport-listeners.ts';
import type { AgentState, AudioSink, Transcription, Transport, TransportEvents, TurnMetrics } from './types.ts';

/** LiveKit's conventions, as its client components and agents read and write them. */
export const AGENT_STATE_ATTRIBUTE = 'lk.agent.state';
export const TRANSCRIPTION_TOPIC = 'lk.transcription';
export const TRANSCRIPTION_SEGMENT_ID_ATTRIBUTE = 'lk.segment_id';
export const TRANSCRIPTION_FINAL_ATTRIBUTE = 'lk.transcription_final';
export const TRANSCRIBED_TRACK_ID_ATTRIBUTE = 'lk.transcribed_track_id';
/** Ours: the last finished turn's figures as JSON (`TurnMetrics`), for the talk page and any client that wants them. */
export const TURN_METRICS_ATTRIBUTE = 'voice.turn';

export interface LiveKitTransportOptions {
  /** ws:// or wss:// URL of the LiveKit server. */
  url: string;
  /**
   * The join token, minted by the functions for this room only (a launched worker holds no LiveKit secret); called
   * at each join, so it can hand out a fresh one when the first has expired.
   */
  joinToken?: () => Promise<string>;
  /** Tests and local tools only, when there is no control plane: mint the agent token here. */
  apiKey?: string;
  apiSecret?: string;
  room: string;
  /** e.g. agent-<session>. */
  identity: string;
  name?: string;
  inputSampleRate?: number;
  outputSampleRate?: number;
  /** Caller frames delivered and agent frames captured (10–20 ms). */
  frameMs?: number;
  logger: Logger;
}

export class LiveKitTransportError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LiveKitTransportError';
  }
}

// rtc-node's default: one second of agent audio may wait inside the source; the sink keeps far less there.
const SOURCE_QUEUE_MS = 1000;
// Caller audio kept while the agent is not reading (30 s of 20 ms frames): beyond that the oldest goes.
const MAX_UNREAD_FRAMES = 1500;

export function createLiveKitTransport(options: LiveKitTransportOptions): Transport {
  return new LiveKitTransport(options);
}

class LiveKitTransport implements Transport {
  readonly inputSampleRate: number;
  readonly input: AsyncIterable<Int16Array>;
  readonly output: AudioSink;
  readonly #options: LiveKitTransportOptions;
  readonly #log: Logger;
  readonly #room = new Room();
  readonly #source: AudioSource;
  readonly #sink: LiveKitAudioSink;
  readonly #frames: FrameQueue<Int16Array>;
  readonly #listeners = new TransportListeners();
  readonly #caller: CallerMicrophone;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #createdAtMs = performance.now();
  #agentState: AgentState = 'initializing';
  #publication: LocalTrackPublication | undefined;
  #started: Promise<void> | undefined;
  #closed: Promise<void> | undefined;
  /** The last caption stream handed to LiveKit: the next one waits for it (see publishTranscription). */
  #captionsSent: Promise<void> = Promise.resolve();

  constructor(options: LiveKitTransportOptions) {
    const frameMs = options.frameMs ?? 20;
    this.#options = options;
    this.#log = options.logger.child({ room: options.room, identity: options.identity });
    this.inputSampleRate = options.inputSampleRate ?? 16000;
    this.#source = new AudioSource(options.outputSampleRate ?? 24000, 1, SOURCE_QUEUE_MS);
    this.#sink = new LiveKitAudioSink(this.#source, { frameMs, logger: this.#log });
    this.output = this.#sink;
    this.#frames = new FrameQueue<Int16Array>({ maxFrames: MAX_UNREAD_FRAMES });
    this.input = this.#frames;
    this.#caller = new CallerMicrophone({
      room: this.#room,
      sampleRate: this.inputSampleRate,
      frameMs,
      input: this.#frames,
      listeners: this.#listeners,
      logger: this.#log,
    });
    this.#room.on(RoomEvent.Disconnected, (reason) => {
      if (this.#closed) return;
      this.#log.warn({ reason }, 'disconnected from the room');
      this.#caller.allLeft();
    });
  }

  now(): number {
    return performance.now() - this.#createdAtMs;
  }

  setTimer(ms: number, fn: () => void): { cancel(): void } {
    const handle = setTimeout(() => {
      this.#timers.delete(handle);
      fn();
    }, Math.max(0, ms));
    this.#timers.add(handle);
    return {
      cancel: () => {
        clearTimeout(handle);
        this.#timers.delete(handle);
      },
    };
  }

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    this.#listeners.on(event, listener);
  }

  start(): Promise<void> {
    this.#started ??= this.#join();
    return this.#started;
  }

  async #join(): Promise<void> {
    const { url, room, identity } = this.#options;
    let token: string;
    try {
      token = await this.#token();
    } catch (error) {
      throw new LiveKitTransportError(`no token to join room "${room}": ${describe(error)}`, { cause: error });
    }
    try {
      await this.#room.connect(url, token, { autoSubscribe: true, dynacast: false });
    } catch (error) {
      throw new LiveKitTransportError(`could not join room "${room}" at ${url}: ${describe(error)}`, { cause: error });
    }
    const localParticipant = this.#localParticipant();
    try {
      const track = LocalAudioTrack.createAudioTrack('agent-voice', this.#source);
      this.#publication = await localParticipant.publishTrack(
        track,
        new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
      );
    } catch (error) {
      throw new LiveKitTransportError(`could not publish the agent's audio in room "${room}": ${describe(error)}`, { cause: error });
    }
    this.#sink.start();
    this.#log.info({ trackSid: this.#publication.sid }, 'joined the room');
    // The state may have moved on while connecting; the token only carried the first one.
    if (this.#agentState !== 'initializing') await this.#publishAgentState();
    this.#caller.adoptPresent();
  }

  #token(): Promise<string> {
    const { joinToken, apiKey, apiSecret, room, identity, name } = this.#options;
    if (joinToken) return joinToken();
    if (apiKey === undefined || apiSecret === undefined) {
      return Promise.reject(new LiveKitTransportError('neither a join token nor LiveKit credentials were given'));
    }
    return mintAgentToken({
      apiKey,
      apiSecret,
      room,
      identity,
      ...(name === undefined ? {} : { name }),
      // Clients see a state from the very first moment, before any setAttributes round trip.
      attributes: { [AGENT_STATE_ATTRIBUTE]: this.#agentState },
    });
  }

  async setAgentState(state: AgentState): Promise<void> {
    this.#agentState = state;
    if (this.#room.isConnected && !this.#closed) await this.#publishAgentState();
  }

  async #publishAgentState(): Promise<void> {
    await this.#localParticipant().setAttributes({ [AGENT_STATE_ATTRIBUTE]: this.#agentState });
  }

  async publishTurnMetrics(metrics: TurnMetrics): Promise<void> {
    // Figures of a turn that ended after the room was left have no one to read them.
    if (!this.#room.isConnected || this.#closed) return;
    await this.#localParticipant().setAttributes({ [TURN_METRICS_ATTRIBUTE]: JSON.stringify(metrics) });
  }

  async publishTranscription(t: Transcription): Promise<void> {
    if (!this.#room.isConnected || this.#closed) {
      throw new LiveKitTransportError('cannot publish a transcription: not in the room');
    }
    const localParticipant = this.#localParticipant();
    const caller = this.#caller.caller;
    const speaker = t.speaker === 'user' ? caller : { identity: localParticipant.identity, trackSid: this.#publication?.sid ?? '' };
    if (!speaker) {
      this.#log.warn({ segmentId: t.segmentId }, 'user transcription with no caller to attribute it to: not published');
      return;
    }
    const attributes: Record<string, string> = {
      [TRANSCRIPTION_SEGMENT_ID_ATTRIBUTE]: t.segmentId,
      [TRANSCRIPTION_FINAL_ATTRIBUTE]: String(t.final),
    };
    if (speaker.trackSid) attributes[TRANSCRIBED_TRACK_ID_ATTRIBUTE] = speaker.trackSid;
    // One stream per update carrying the segment's whole text so far: clients replace the caption with the same
    // segment id in place. Captions of the caller's words are sent on their behalf, as LiveKit's agents do.
    const send = async () => {
      const writer = await localParticipant.streamText({
        topic: TRANSCRIPTION_TOPIC,
        senderIdentity: speaker.identity,
        attributes,
      });
      await writer.write(t.text);
      await writer.close();
    };
    // Updates arrive in the order they were made only if their streams go out one after another: sent side by side,
    // a late interim could land after its segment's final and leave the caption unfinished on the caller's screen.
    const sent = this.#captionsSent.then(send);
    this.#captionsSent = sent.catch(() => undefined);
    return sent;
  }

  close(): Promise<void> {
    this.#closed ??= this.#leave();
    return this.#closed;
  }

  async #leave(): Promise<void> {
    for (const handle of this.#timers) clearTimeout(handle);
    this.#timers.clear();
    this.#frames.end();
    this.#caller.stop();
    await this.#sink.close();
    // A start() still connecting must settle before the room can be left cleanly.
    await this.#started?.catch(() => undefined);
    try {
      if (this.#room.isConnected) await this.#room.disconnect();
    } catch (error) {
      this.#log.warn({ err: error }, 'leaving the room failed');
    }
    await this.#source.close();
    this.#log.info('left the room');
  }

  #localParticipant(): LocalParticipant {
    const participant = this.#room.localParticipant;
    if (!participant) throw new LiveKitTransportError('not connected: no local participant');
    return participant;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
