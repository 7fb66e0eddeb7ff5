// One call from the browser, on livekit-client: a token from the functions' page route, the microphone, the room, and
// the agent's signals the way LiveKit's own clients read them (`lk.agent.state`, `lk.transcription`), plus ours
// (`voice.turn`). The UI listens through `SessionEvents`; every failure arrives as a TalkFailure.
import {
  ConnectionState,
  DisconnectReason,
  LocalAudioTrack,
  ParticipantKind,
  Room,
  RoomEvent,
  Track,
  createLocalAudioTrack,
  type Participant,
  type RemoteAudioTrack,
  type RemoteParticipant,
} from 'livekit-client';
import type { CaptionUpdate } from './captions.ts';
import { TalkFailure, connectFailure, microphoneFailure, tokenFailure, unexpected } from './failures.ts';
import { TURN_METRICS_ATTRIBUTE, parseTurnMetrics, type TurnMetrics } from './turn-metrics.ts';

export const AGENT_STATE_ATTRIBUTE = 'lk.agent.state';
export const TRANSCRIPTION_TOPIC = 'lk.transcription';

export type AgentState = 'absent' | 'initializing' | 'listening' | 'thinking' | 'speaking';

export interface SessionEvents {
  connection(state: ConnectionState): void;
  agentState(state: AgentState): void;
  caption(c: CaptionUpdate): void;
  turn(m: TurnMetrics): void;
  agentAudio(track: MediaStreamTrack | undefined): void;
  /** The call is over: by hanging up (no failure) or because something failed. */
  ended(failure: TalkFailure | undefined): void;
}

export interface SessionOptions {
  /** The functions' origin (the page's own). */
  origin: string;
  /** A `talk-` room to join; the functions pick a random one otherwise. */
  room?: string;
  microphoneId?: string;
  agentWaitMs: number;
}

interface PageToken {
  token: string;
  url: string;
  room: string;
  identity: string;
}

export class TalkSession {
  readonly room = new Room({ adaptiveStream: false, dynacast: false, disconnectOnPageLeave: true });
  readonly #events: SessionEvents;
  readonly #options: SessionOptions;
  #microphone: LocalAudioTrack | undefined;
  #agent: RemoteParticipant | undefined;
  #agentTimer: ReturnType<typeof setTimeout> | undefined;
  #audioElement: HTMLMediaElement | undefined;
  #ended = false;
  /** Until connect() resolves, a disconnect is connect()'s own failure, reported from there with its reason. */
  #connected = false;
  joined: PageToken | undefined;

  constructor(options: SessionOptions, events: SessionEvents) {
    this.#options = options;
    this.#events = events;
    this.#listen();
  }

  /** Microphone first (its refusal is the likeliest failure and needs no server), then the token, then the room. */
  async start(): Promise<void> {
    try {
      this.#microphone = await createLocalAudioTrack({
        ...(this.#options.microphoneId ? { deviceId: this.#options.microphoneId } : {}),
        echoCancellation: true,
        noiseSuppression: true,
        autoGainControl: true,
      }).catch((error: unknown) => {
        throw microphoneFailure(error);
      });
      this.joined = await this.#token();
      await this.room.connect(this.joined.url, this.joined.token, { autoSubscribe: true, maxRetries: 0 }).catch((error: unknown) => {
        throw connectFailure(error, this.joined!.url);
      });
      this.#connected = true;
      await this.room.localParticipant.publishTrack(this.#microphone, { source: Track.Source.Microphone });
      for (const p of this.room.remoteParticipants.values()) this.#noticeAgent(p);
      if (!this.#agent) {
        const waitS = Math.round(this.#options.agentWaitMs / 1000);
        this.#agentTimer = setTimeout(() => {
          void this.#end(new TalkFailure('agent_absent', `The agent did not arrive within ${waitS} s. Its worker may have failed to start; try again in a moment.`));
        }, this.#options.agentWaitMs);
      }
    } catch (error) {
      await this.#end(error instanceof TalkFailure ? error : unexpected(error));
      throw error;
    }
  }

  async hangUp(): Promise<void> {
    await this.#end(undefined);
  }

  async setMuted(muted: boolean): Promise<void> {
    if (!this.#microphone) return;
    if (muted) await this.#microphone.mute();
    else await this.#microphone.unmute();
  }

  async switchMicrophone(deviceId: string): Promise<void> {
    this.#options.microphoneId = deviceId;
    if (this.room.state === ConnectionState.Connected) await this.room.switchActiveDevice('audioinput', deviceId);
  }

  async #token(): Promise<PageToken> {
    let res: Response;
    try {
      res = await fetch(new URL('/v1/page/token', this.#options.origin), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(this.#options.room ? { room: this.#options.room } : {}),
        credentials: 'same-origin',
      });
    } catch (error) {
      throw new TalkFailure('token_refused', 'Could not reach this page\'s server to start a call. Check the connection and try again.', { cause: error });
    }
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) throw tokenFailure(res.status, body, res.headers.get('retry-after'));
    return body as PageToken;
  }

  #listen(): void {
    const room = this.room;
    room.on(RoomEvent.ConnectionStateChanged, (state) => this.#events.connection(state));
    room.on(RoomEvent.ParticipantConnected, (p) => this.#noticeAgent(p));
    room.on(RoomEvent.ParticipantDisconnected, (p) => {
      if (p !== this.#agent) return;
      this.#agent = undefined;
      void this.#end(new TalkFailure('agent_left', 'The agent left the call.'));
    });
    room.on(RoomEvent.ParticipantAttributesChanged, (changed, p: Participant) => {
      if (p !== this.#agent) return;
      if (AGENT_STATE_ATTRIBUTE in changed) this.#events.agentState(agentStateOf(changed[AGENT_STATE_ATTRIBUTE]));
      const metrics = parseTurnMetrics(changed[TURN_METRICS_ATTRIBUTE]);
      if (metrics) this.#events.turn(metrics);
    });
    room.on(RoomEvent.TrackSubscribed, (track, _publication, p) => {
      if (p !== this.#agent || track.kind !== Track.Kind.Audio) return;
      this.#audioElement?.remove();
      // The element plays it; Chrome also only feeds a remote WebRTC track to Web Audio while an element plays it.
      this.#audioElement = (track as RemoteAudioTrack).attach();
      this.#audioElement.hidden = true;
      document.body.append(this.#audioElement);
      this.#events.agentAudio(track.mediaStreamTrack);
    });
    room.on(RoomEvent.TrackUnsubscribed, (track, _publication, p) => {
      if (p !== this.#agent || track.kind !== Track.Kind.Audio) return;
      track.detach().forEach((el) => el.remove());
      this.#events.agentAudio(undefined);
    });
    room.on(RoomEvent.Disconnected, (reason) => {
      if (this.#ended || !this.#connected) return;
      void this.#end(new TalkFailure('disconnected', `The call was cut off (${reasonName(reason)}).`));
    });
    room.registerTextStreamHandler(TRANSCRIPTION_TOPIC, (reader, from) => {
      void reader.readAll().then(
        (text) => {
          const attributes = reader.info.attributes ?? {};
          this.#events.caption({
            segmentId: attributes['lk.segment_id'] ?? reader.info.id,
            speaker: from.identity === room.localParticipant.identity ? 'user' : 'agent',
            text,
            final: attributes['lk.transcription_final'] === 'true',
          });
        },
        () => undefined, // a caption cut off by the call ending: nothing to show
      );
    });
  }

  #noticeAgent(p: RemoteParticipant): void {
    if (p.kind !== ParticipantKind.AGENT || this.#agent) return;
    this.#agent = p;
    clearTimeout(this.#agentTimer);
    this.#events.agentState(agentStateOf(p.attributes[AGENT_STATE_ATTRIBUTE]));
    const metrics = parseTurnMetrics(p.attributes[TURN_METRICS_ATTRIBUTE]);
    if (metrics) this.#events.turn(metrics);
  }

  async #end(failure: TalkFailure | undefined): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#agentTimer);
    this.#audioElement?.remove();
    this.#microphone?.stop();
    this.#events.agentAudio(undefined);
    this.#events.agentState('absent');
    await this.room.disconnect().catch(() => undefined);
    this.#events.ended(failure);
  }
}

function agentStateOf(value: string | undefined): AgentState {
  return value === 'initializing' || value === 'listening' || value === 'thinking' || value === 'speaking' ? value : 'initializing';
}

function reasonName(reason: DisconnectReason | undefined): string {
  return reason === undefined ? 'no reason given' : (DisconnectReason[reason] ?? `reason ${reason}`).toLowerCase().replaceAll('_', ' ');
}
