// Who the caller is in a LiveKit room, and their microphone as frames. Every participant that is not an agent counts
// as a human; the agent listens to one human's microphone at a time (the first one subscribed), moves to another
// human's when that one goes away, and ends the input when the last human leaves.
import {
  AudioStream,
  ParticipantKind,
  RoomEvent,
  TrackKind,
  TrackSource,
  type AudioFrame,
  type RemoteParticipant,
  type RemoteTrackPublication,
  type Room,
  type Track,
} from '@livekit/rtc-node';
import type { Logger } from '../log.ts';
import type { FrameQueue } from './frame-queue.ts';
import type { TransportListeners } from './transport-listeners.ts';

export interface CallerMicrophoneOptions {
  room: Room;
  sampleRate: number;
  frameMs: number;
  input: FrameQueue<Int16Array>;
  listeners: TransportListeners;
  logger: Logger;
}

interface Listening {
  identity: string;
  trackSid: string;
  reader: ReadableStreamDefaultReader<AudioFrame>;
}

export class CallerMicrophone {
  readonly #options: CallerMicrophoneOptions;
  readonly #humans = new Map<string, RemoteParticipant>();
  #listening: Listening | undefined;
  /** The last caller heard, kept after they leave so their final captions still name them. */
  #lastCaller: { identity: string; trackSid: string } | undefined;

  constructor(options: CallerMicrophoneOptions) {
    this.#options = options;
    const room = options.room;
    room.on(RoomEvent.ParticipantConnected, (participant) => this.#humanArrived(participant));
    room.on(RoomEvent.ParticipantDisconnected, (participant) => this.#humanLeft(participant));
    room.on(RoomEvent.TrackSubscribed, (track, publication, participant) => this.#listenTo(track, publication, participant));
    room.on(RoomEvent.TrackUnsubscribed, (_track, publication) => {
      if (this.#listening?.trackSid === publication.sid) this.#switchMicrophone(publication.sid);
    });
  }

  /** The caller's identity and microphone track, for captions of what they said. */
  get caller(): { identity: string; trackSid: string } | undefined {
    return this.#listening ?? this.#lastCaller;
  }

  /** Picks up the participants and tracks that were in the room before the agent joined. */
  adoptPresent(): void {
    for (const participant of this.#options.room.remoteParticipants.values()) this.#humanArrived(participant);
    if (!this.#listening) this.#switchMicrophone();
  }

  /** Stops reading; the room is being left. */
  stop(): void {
    this.#stopReading();
    this.#humans.clear();
  }

  /** The agent is done with the room (it was disconnected): whoever is present has, for it, left. */
  allLeft(): void {
    const someone = this.#listening?.identity ?? this.#humans.keys().next().value;
    const hadHumans = this.#humans.size > 0;
    this.stop();
    if (hadHumans && someone !== undefined) this.#emit('callerLeft', someone);
    this.#options.input.end();
  }

  #humanArrived(participant: RemoteParticipant): void {
    if (participant.kind === ParticipantKind.AGENT || this.#humans.has(participant.identity)) return;
    this.#humans.set(participant.identity, participant);
    if (this.#humans.size === 1) this.#emit('callerJoined', participant.identity);
  }

  #humanLeft(participant: RemoteParticipant): void {
    if (!this.#humans.delete(participant.identity)) return;
    if (this.#listening?.identity === participant.identity) this.#switchMicrophone();
    if (this.#humans.size === 0) {
      this.#emit('callerLeft', participant.identity);
      this.#options.input.end();
    }
  }

  #listenTo(track: Track, publication: RemoteTrackPublication, participant: RemoteParticipant): void {
    if (track.kind !== TrackKind.KIND_AUDIO || publication.source !== TrackSource.SOURCE_MICROPHONE) return;
    if (participant.kind === ParticipantKind.AGENT || this.#listening || this.#options.input.ended) return;
    this.#humanArrived(participant);
    const stream = new AudioStream(track, {
      sampleRate: this.#options.sampleRate,
      numChannels: 1,
      frameSizeMs: this.#options.frameMs,
    });
    const listening: Listening = { identity: participant.identity, trackSid: publication.sid ?? '', reader: stream.getReader() };
    this.#listening = listening;
    this.#lastCaller = { identity: listening.identity, trackSid: listening.trackSid };
    this.#options.logger.info({ caller: listening.identity, trackSid: listening.trackSid }, 'listening to the caller');
    void this.#pump(listening);
  }

  async #pump(listening: Listening): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await listening.reader.read();
        if (done || this.#listening !== listening) break;
        this.#options.input.push(value.data);
      }
    } catch (error) {
      this.#options.logger.error({ err: error, caller: listening.identity }, 'caller audio stream failed');
    } finally {
      // The stream ended on its own (the track ended): another human's microphone, never this track again.
      if (this.#listening === listening) this.#switchMicrophone(listening.trackSid);
    }
  }

  /** Stops the current microphone and listens to another subscribed one (a human's, not `excludeTrackSid`). */
  #switchMicrophone(excludeTrackSid?: string): void {
    this.#stopReading();
    for (const participant of this.#humans.values()) {
      for (const publication of participant.trackPublications.values()) {
        if (publication.track && publication.subscribed && publication.sid !== excludeTrackSid) {
          this.#listenTo(publication.track, publication, participant);
          if (this.#listening) return;
        }
      }
    }
  }

  #stopReading(): void {
    const listening = this.#listening;
    this.#listening = undefined;
    listening?.reader.cancel().catch((error: unknown) => {
      this.#options.logger.debug({ err: error }, 'caller audio stream did not cancel cleanly');
    });
  }

  #emit(event: 'callerJoined' | 'callerLeft', identity: string): void {
    for (const error of this.#options.listeners.emit(event, identity)) {
      this.#options.logger.error({ err: error, event }, 'transport listener threw');
    }
  }
}
