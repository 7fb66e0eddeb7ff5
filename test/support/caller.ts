// A caller in a real LiveKit room (@livekit/rtc-node), as a person with a microphone would be: it publishes a
// microphone track fed at real-time pace (speech when asked, silence otherwise), and records what the agent sends
// back — audio frames with their arrival times and loudness, `lk.agent.state` changes and `lk.transcription` captions.
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  ParticipantKind,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteParticipant,
} from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { rms } from '../worker/transport/wav-fixture.ts';
import { sleep, waitFor } from './wait.ts';

export const MIC_RATE = 48_000;
const FRAME_MS = 20;
const MIC_FRAME_SAMPLES = (MIC_RATE * FRAME_MS) / 1000;
const AGENT_RATE = 24_000;
/** RMS (int16) of a 20 ms frame above which it holds sound (espeak and the fake TTS sit far above; silence is ~0). */
export const LOUD_RMS = 300;
/**
 * Microphone audio handed to rtc-node this far ahead of real time: its source plays out of a queue at real-time pace,
 * so a stall of this process's event loop (two cores, a busy suite) shorter than this leaves no gap in the speech the
 * agent hears. Fed just in time, a 200 ms stall put a pause into the middle of a question, and the agent answered it.
 */
const LEAD_MS = 100;

/** A stretch of silence the caller did not mean: the microphone ran dry in the middle of a `say`. */
export interface SpeechGap {
  /** performance.now() when the frame after the gap was handed over. */
  atMs: number;
  gapMs: number;
}

export interface Caption {
  identity: string;
  text: string;
  attributes: Record<string, string>;
  atMs: number;
}

export interface AgentFrame {
  /** performance.now() when the frame reached the caller. */
  atMs: number;
  durationMs: number;
  loud: boolean;
}

/** A token for a caller, signed the way the functions sign them (for tests that do not go through /v1/token). */
export async function callerToken(apiKey: string, apiSecret: string, room: string, identity: string): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { identity, ttl: 600 });
  token.addGrant({ room, roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true });
  return token.toJwt();
}

export class Caller {
  readonly room = new Room();
  readonly identity: string;
  readonly agentFrames: AgentFrame[] = [];
  readonly agentStates: { state: string; atMs: number }[] = [];
  readonly captions: Caption[] = [];
  /** Agent identities seen in the room, in order of arrival (duplicates would show a second agent). */
  readonly agentsSeen: string[] = [];
  /** Gaps this process's stalls put into the speech (each one a pause the agent may rightly take for the end). */
  readonly speechGaps: SpeechGap[] = [];
  agentTrackSid: string | undefined;
  micTrackSid: string | undefined;
  /** True once somebody (the agent) subscribed to the microphone. */
  heardByAgent = false;
  readonly #mic = new AudioSource(MIC_RATE, 1);
  #captionsBegun = 0;
  readonly #captionOrder = new WeakMap<Caption, number>();
  readonly #stop = new AbortController();
  #queue: Int16Array[] = [];
  #onQueueDrained: ((outAtMs: number) => void) | undefined;
  /** The last loud frame of the speech being said, and when it finished playing out. */
  #soundEnd: Int16Array | undefined;
  #soundEndedAt: number | undefined;
  #speechStarting = false;
  #lastSpeechStartAt: number | undefined;
  #pump: Promise<void> | undefined;

  constructor(identity: string) {
    this.identity = identity;
    this.room.on(RoomEvent.ParticipantConnected, (p) => this.#noteAgent(p));
    this.room.on(RoomEvent.TrackSubscribed, (track, publication, participant) => {
      if (participant.kind !== ParticipantKind.AGENT || track.kind !== TrackKind.KIND_AUDIO) return;
      this.agentTrackSid = publication.sid;
      void (async () => {
        for await (const frame of new AudioStream(track, { sampleRate: AGENT_RATE, numChannels: 1 })) {
          const durationMs = (frame.samplesPerChannel / frame.sampleRate) * 1000;
          this.agentFrames.push({ atMs: performance.now(), durationMs, loud: rms(frame.data) > LOUD_RMS });
        }
      })();
    });
    this.room.on(RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
      const state = changed['lk.agent.state'];
      if (participant.kind === ParticipantKind.AGENT && state) this.agentStates.push({ state, atMs: performance.now() });
    });
    this.room.on(RoomEvent.LocalTrackSubscribed, () => (this.heardByAgent = true));
    this.room.registerTextStreamHandler('lk.transcription', (reader, from) => {
      // In the order the streams began (the agent sends one after the other), not the order their reads finish: two
      // short streams can finish reading the other way round.
      const order = this.#captionsBegun++;
      void reader.readAll().then((text) => {
        const caption = { identity: from.identity, text, attributes: reader.info.attributes ?? {}, atMs: performance.now() };
        this.#captionOrder.set(caption, order);
        const at = this.captions.findIndex((c) => this.#captionOrder.get(c)! > order);
        if (at === -1) this.captions.push(caption);
        else this.captions.splice(at, 0, caption);
      });
    });
  }

  #noteAgent(p: RemoteParticipant): void {
    if (p.kind === ParticipantKind.AGENT && !this.agentsSeen.includes(p.identity)) this.agentsSeen.push(p.identity);
  }

  /** Joins, publishes the microphone and starts feeding it (silence until `say`). */
  async join(url: string, token: string): Promise<void> {
    await this.room.connect(url, token, { autoSubscribe: true, dynacast: false });
    for (const p of this.room.remoteParticipants.values()) this.#noteAgent(p);
    const publication = await this.room.localParticipant!.publishTrack(
      LocalAudioTrack.createAudioTrack('microphone', this.#mic),
      new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
    );
    this.micTrackSid = publication.sid;
    this.#pump = this.#feed();
  }

  /** The one agent in the room (waits for it). */
  async agent(timeoutMs = 30_000): Promise<RemoteParticipant> {
    return waitFor('an agent in the room', () => [...this.room.remoteParticipants.values()].find((p) => p.kind === ParticipantKind.AGENT), timeoutMs);
  }

  agentState(): string | undefined {
    return [...this.room.remoteParticipants.values()].find((p) => p.kind === ParticipantKind.AGENT)?.attributes['lk.agent.state'];
  }

  /**
   * Speaks 48 kHz mono PCM into the microphone and resolves once its last sample went out, with the moment its sound
   * ended (performance.now()): the end of its last loud frame as played out. That is when the caller stopped talking;
   * espeak ends a sentence with ≈ 290 ms of silence, and an agent that answers inside it has waited for the caller.
   * Audio with no loud frame at all resolves with the moment its last sample went out.
   */
  async say(pcm48k: Int16Array): Promise<number> {
    let soundEnd: Int16Array | undefined;
    for (let offset = 0; offset < pcm48k.length; offset += MIC_FRAME_SAMPLES) {
      const frame = new Int16Array(MIC_FRAME_SAMPLES);
      frame.set(pcm48k.subarray(offset, offset + MIC_FRAME_SAMPLES));
      if (rms(frame) > LOUD_RMS) soundEnd = frame;
      this.#queue.push(frame);
    }
    this.#soundEnd = soundEnd;
    this.#soundEndedAt = undefined;
    this.#speechStarting = true;
    const outAtMs = await new Promise<number>((done) => (this.#onQueueDrained = done));
    await sleep(Math.max(0, outAtMs - performance.now()));
    return this.#soundEndedAt ?? outAtMs;
  }

  /** When the first sample of the last `say` went out (performance.now()). */
  get lastSpeechStartAt(): number | undefined {
    return this.#lastSpeechStartAt;
  }

  /** Milliseconds of loud agent audio that arrived at or after `fromMs`. */
  loudMsSince(fromMs: number): number {
    return this.agentFrames.filter((f) => f.atMs >= fromMs && f.loud).reduce((sum, f) => sum + f.durationMs, 0);
  }

  /** Arrival time of the first loud agent frame at or after `fromMs` (its start: arrival minus its duration). */
  firstLoudAfter(fromMs: number): number | undefined {
    const frame = this.agentFrames.find((f) => f.atMs >= fromMs && f.loud);
    return frame === undefined ? undefined : frame.atMs - frame.durationMs;
  }

  /** Arrival time of the last loud agent frame. */
  lastLoudAt(): number | undefined {
    for (let i = this.agentFrames.length - 1; i >= 0; i--) if (this.agentFrames[i]!.loud) return this.agentFrames[i]!.atMs;
    return undefined;
  }

  /** A frame at a time, at real-time pace on the wall clock, LEAD_MS ahead, without drift. */
  async #feed(): Promise<void> {
    const startedAt = performance.now();
    let playedOutAt = startedAt;
    for (let i = 0; !this.#stop.signal.aborted; i++) {
      const speech = this.#queue.shift();
      const frame = speech ?? new Int16Array(MIC_FRAME_SAMPLES);
      // What the source still holds plays out before this frame does.
      if (speech && this.#speechStarting) {
        this.#speechStarting = false;
        this.#lastSpeechStartAt = performance.now() + this.#mic.queuedDuration;
      } else if (speech && performance.now() > playedOutAt + FRAME_MS) {
        this.speechGaps.push({ atMs: performance.now(), gapMs: Math.round(performance.now() - playedOutAt) });
      }
      await this.#mic.captureFrame(new AudioFrame(frame, MIC_RATE, 1, MIC_FRAME_SAMPLES));
      playedOutAt = performance.now() + this.#mic.queuedDuration;
      if (speech && speech === this.#soundEnd) this.#soundEndedAt = playedOutAt;
      if (speech && this.#queue.length === 0) {
        this.#onQueueDrained?.(playedOutAt);
        this.#onQueueDrained = undefined;
      }
      const aheadMs = startedAt + (i + 1) * FRAME_MS - LEAD_MS - performance.now();
      if (aheadMs > 0) await sleep(aheadMs);
    }
  }

  async leave(): Promise<void> {
    this.#stop.abort();
    await this.#pump?.catch(() => undefined);
    if (this.room.isConnected) await this.room.disconnect().catch(() => undefined);
    await this.#mic.close().catch(() => undefined);
  }
}

/** True when `expected` appears in `seen` in order (other values may come between). */
export function inOrder(seen: string[], expected: string[]): boolean {
  let next = 0;
  for (const value of seen) if (value === expected[next]) next++;
  return next === expected.length;
}
