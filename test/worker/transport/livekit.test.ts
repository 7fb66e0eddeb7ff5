// The LiveKit transport in a real room on a real LiveKit server, with a second rtc-node participant as the caller:
// the caller's tone reaches the agent's input, the agent's tone reaches the caller, the caller sees the agent state
// attribute and the captions the way LiveKit's client components read them. The server is the real livekit-server
// that `npm run setup` builds, started by this file.
import { randomUUID } from 'node:crypto';
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
} from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveKitTransport, LiveKitTransportError } from '../../../worker/transport/livekit.ts';
import { waitFor } from '../../support/wait.ts';
import { rms, sine } from './wav-fixture.ts';
import { closedPort } from '../../fakes/kit/server.ts';
import { startTestLiveKit, type LiveKitServer } from '../../support/livekit-server.ts';

const AGENT = 'agent-transport-test';
const CALLER = 'caller-transport-test';

interface Caption {
  identity: string;
  text: string;
  attributes: Record<string, string>;
}

/** Feeds a 440 Hz tone into `source` in 20 ms frames at real-time pace until `signal` aborts. */
async function playTone(source: AudioSource, signal: AbortSignal): Promise<void> {
  const frameSamples = 960; // 20 ms at 48 kHz
  const tone = sine(440, 1000, 48000, 8000);
  for (let offset = 0; !signal.aborted; offset = (offset + frameSamples) % tone.length) {
    const pcm = tone.slice(offset, offset + frameSamples);
    await source.captureFrame(new AudioFrame(pcm, 48000, 1, pcm.length));
  }
}

async function withTimeout<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}


describe('LiveKit transport without a server', () => {
  it('rejects start() with a LiveKitTransportError naming the room and URL, and still closes cleanly', async () => {
    const url = `ws://127.0.0.1:${await closedPort()}`;
    const transport = createLiveKitTransport({
      url,
      apiKey: 'devkey',
      apiSecret: 'a-secret-long-enough-for-hs256-signing',
      room: 'room-nowhere',
      identity: AGENT,
      logger: pino({ level: 'silent' }),
    });
    // A state set before joining is kept for the join, not refused.
    await transport.setAgentState('listening');
    await expect(
      transport.publishTranscription({ speaker: 'agent', text: 'too early', final: true, segmentId: 'SG_0' }),
    ).rejects.toBeInstanceOf(LiveKitTransportError);

    const failure = await withTimeout('start() to fail', transport.start().then(() => undefined, (error: unknown) => error), 20_000);
    expect(failure).toBeInstanceOf(LiveKitTransportError);
    expect((failure as Error).message).toContain('room-nowhere');
    expect((failure as Error).message).toContain(url);

    await withTimeout('close()', transport.close(), 10_000);
    const input = transport.input[Symbol.asyncIterator]();
    expect((await input.next()).done).toBe(true);
  });
});

describe('LiveKit transport against a real server', () => {
  let server: LiveKitServer | undefined;
  beforeAll(async () => {
    server = await startTestLiveKit();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(
    'carries audio both ways, sets lk.agent.state, publishes captions, and follows the caller in and out',
    async () => {
      const { url, apiKey, apiSecret } = server!;
      const roomName = `transport-test-${randomUUID()}`;
      const transport = createLiveKitTransport({
        url,
        apiKey,
        apiSecret,
        room: roomName,
        identity: AGENT,
        name: 'Test agent',
        logger: pino({ level: 'silent' }),
      });
      const joined: string[] = [];
      const left: string[] = [];
      transport.on('callerJoined', (identity) => joined.push(identity));
      transport.on('callerLeft', (identity) => left.push(identity));

      const caller = new Room();
      const micSource = new AudioSource(48000, 1);
      const stopTone = new AbortController();
      let tonePlaying: Promise<void> | undefined;
      try {
        await transport.start();

        // The caller: hears the agent, watches its attributes and captions, and speaks a tone.
        const agentFrames: Int16Array[] = [];
        const agentStates: string[] = [];
        const captions: Caption[] = [];
        let agentTrackSid: string | undefined;
        caller.on(RoomEvent.TrackSubscribed, (track, publication, participant) => {
          if (participant.identity !== AGENT || track.kind !== TrackKind.KIND_AUDIO) return;
          agentTrackSid = publication.sid;
          void (async () => {
            for await (const frame of new AudioStream(track, { sampleRate: 24000, numChannels: 1 })) agentFrames.push(frame.data);
          })();
        });
        caller.on(RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
          const state = changed['lk.agent.state'];
          if (participant.identity === AGENT && state) agentStates.push(state);
        });
        caller.registerTextStreamHandler('lk.transcription', (reader, participantInfo) => {
          void reader.readAll().then((text) => captions.push({ identity: participantInfo.identity, text, attributes: reader.info.attributes ?? {} }));
        });
        const callerToken = new AccessToken(apiKey, apiSecret, { identity: CALLER });
        callerToken.addGrant({ room: roomName, roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true });
        await caller.connect(url, await callerToken.toJwt(), { autoSubscribe: true, dynacast: false });
        const micPublication = await caller.localParticipant!.publishTrack(
          LocalAudioTrack.createAudioTrack('caller-mic', micSource),
          new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
        );
        tonePlaying = playTone(micSource, stopTone.signal);

        // Caller → agent: 16 kHz mono 20 ms frames carrying the tone.
        await waitFor('callerJoined', () => joined.length > 0, 15_000);
        expect(joined).toEqual([CALLER]);
        const input = transport.input[Symbol.asyncIterator]();
        const loudFrames: Int16Array[] = [];
        await withTimeout(
          'the caller\'s tone in the agent\'s input',
          (async () => {
            while (loudFrames.length < 25) {
              const next = await input.next();
              if (next.done) throw new Error('input ended early');
              expect(next.value.length).toBe(320);
              if (rms(next.value) > 1000) loudFrames.push(next.value);
            }
          })(),
          20_000,
        );

        // Agent → caller: a tone written to the sink is heard in the room, and playout is accounted for.
        await transport.setAgentState('speaking');
        transport.output.write(sine(660, 1000, 24000, 8000));
        await waitFor('the agent\'s tone at the caller', () => agentFrames.filter((f) => rms(f) > 1000).length >= 10, 20_000);
        await waitFor('agent audio played out', () => transport.output.playedMs() >= 990 && transport.output.queuedMs() === 0, 10_000);

        // The state attribute, as LiveKit clients read it, and the agent's participant kind.
        await waitFor('lk.agent.state = speaking', () => agentStates.includes('speaking'), 10_000);
        const agentAsSeen = caller.remoteParticipants.get(AGENT);
        expect(agentAsSeen?.attributes['lk.agent.state']).toBe('speaking');
        expect(agentAsSeen?.kind).toBe(ParticipantKind.AGENT);

        // Captions on lk.transcription: the agent's own, and the caller's sent on their behalf.
        await transport.publishTranscription({ speaker: 'agent', text: 'Hello from the agent', final: true, segmentId: 'SG_agent1' });
        await transport.publishTranscription({ speaker: 'user', text: 'hello agent', final: false, segmentId: 'SG_user1' });
        await waitFor('two captions', () => captions.length >= 2, 10_000);
        expect(captions).toContainEqual({
          identity: AGENT,
          text: 'Hello from the agent',
          attributes: expect.objectContaining({
            'lk.segment_id': 'SG_agent1',
            'lk.transcription_final': 'true',
            'lk.transcribed_track_id': agentTrackSid,
          }),
        });
        expect(captions).toContainEqual({
          identity: CALLER,
          text: 'hello agent',
          attributes: expect.objectContaining({
            'lk.segment_id': 'SG_user1',
            'lk.transcription_final': 'false',
            'lk.transcribed_track_id': micPublication.sid,
          }),
        });

        // The caller leaves: callerLeft, and the input ends.
        stopTone.abort();
        await tonePlaying;
        await caller.disconnect();
        await waitFor('callerLeft', () => left.length > 0, 15_000);
        expect(left).toEqual([CALLER]);
        await withTimeout(
          'the input to end',
          (async () => {
            while (!(await input.next()).done);
          })(),
          10_000,
        );
      } finally {
        stopTone.abort();
        await tonePlaying?.catch(() => undefined);
        if (caller.isConnected) await caller.disconnect();
        await micSource.close();
        await transport.close();
      }
    },
    90_000,
  );
});
