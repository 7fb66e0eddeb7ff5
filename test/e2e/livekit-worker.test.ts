// The real media worker (`node worker/main.ts`) in a real LiveKit room, launched the way the functions launch it: a
// signed participant_joined webhook opens the session, the worker fetches it with its token, joins as an AGENT
// participant, hears a caller speaking real speech (espeak-ng) through WebRTC, answers through the fake vendors, and
// leaves on SIGTERM reporting 'ended'. Runs when LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET are set
// (e.g. `livekit-server --dev`: ws://127.0.0.1:7880, devkey, secret).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
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
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { readWavFile } from '../../worker/audio/wav-read.ts';
import { postWebhook, startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { REPO_ROOT } from '../support/local-launcher.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { rms } from '../worker/transport/wav-fixture.ts';
import { FRAME_MS, LOUD_RMS, consoleEnv, convertWav, makeTempDir, removeDir, speechWav, startFakes, type Fakes } from './console-support.ts';
import { liveKitServerEnv } from '../support/livekit-server.ts';

const { server, skipReason } = liveKitServerEnv('LiveKit worker end-to-end test');

const CALLER = 'caller-worker-e2e';
const QUESTION = 'What is the weather like today';
const TRANSCRIPT = 'what is the weather like today';
// One sentence: one caption, one TTS request.
const REPLY = 'It is sunny and warm.';
const MIC_RATE = 48_000;
const MIC_FRAME_SAMPLES = (MIC_RATE * FRAME_MS) / 1000;

interface Caption {
  identity: string;
  text: string;
  attributes: Record<string, string>;
}

/** Plays `speech` into `source` in 20 ms frames at real-time pace, then silence until `signal` aborts. */
async function playMicrophone(source: AudioSource, speech: Int16Array, signal: AbortSignal, onSpeechEnd: () => void): Promise<void> {
  const startedAt = performance.now();
  for (let i = 0; !signal.aborted; i++) {
    const offset = i * MIC_FRAME_SAMPLES;
    if (offset >= speech.length && offset - MIC_FRAME_SAMPLES < speech.length) onSpeechEnd();
    const frame = new Int16Array(MIC_FRAME_SAMPLES);
    if (offset < speech.length) frame.set(speech.subarray(offset, offset + MIC_FRAME_SAMPLES));
    await source.captureFrame(new AudioFrame(frame, MIC_RATE, 1, MIC_FRAME_SAMPLES));
    const aheadMs = startedAt + (i + 1) * FRAME_MS - performance.now();
    if (aheadMs > 0) await sleep(aheadMs);
  }
}

/** True when `expected` appears in `seen` in order (other values may come between). */
function inOrder(seen: string[], expected: string[]): boolean {
  let next = 0;
  for (const value of seen) if (value === expected[next]) next++;
  return next === expected.length;
}

async function sessionStatus(cp: ControlPlane, sessionId: string): Promise<string> {
  const res = await cp.fn.fetch(`/v1/sessions/${sessionId}`, { headers: { authorization: 'Bearer test-app-key-1' } });
  return ((await res.json()) as { status: string }).status;
}

describe('the media worker in a real LiveKit room', () => {
  let cp: ControlPlane | undefined;
  let fakes: Fakes | undefined;
  let dir: string | undefined;
  let caller: Room | undefined;
  let mic: AudioSource | undefined;
  let worker: ChildProcess | undefined;
  let microphone: Promise<void> | undefined;
  const stopMic = new AbortController();

  afterAll(async () => {
    stopMic.abort();
    await microphone?.catch(() => undefined);
    if (caller?.isConnected) await caller.disconnect().catch(() => undefined);
    await mic?.close().catch(() => undefined);
    if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await fakes?.close();
    await cp?.close();
    await removeDir(dir);
  });

  it.skipIf(skipReason !== undefined)(
    'joins as the agent, answers a spoken question with audio, states and captions, and leaves on SIGTERM',
    async () => {
      const { url, apiKey, apiSecret } = server!;

      // 1. The control plane (pointed at the real server) and the fake vendors, scripted for one turn.
      cp = await startControlPlane({
        LIVEKIT_URL: url,
        LIVEKIT_API_KEY: apiKey,
        LIVEKIT_API_SECRET: apiSecret,
        STT_PROVIDERS: 'deepgram',
        LLM_PROVIDERS: 'openai',
        TTS_PROVIDERS: 'elevenlabs',
      });
      fakes = await startFakes();
      fakes.deepgram.script.pushTranscripts(TRANSCRIPT);
      fakes.openai.script.pushReplies(REPLY);
      // Thinking lasts long enough for the caller to see that state, however the server paces attribute updates.
      fakes.openai.setProfile({ ttfbMs: 400 });
      dir = await makeTempDir('livekit-worker');
      const question = await convertWav(await speechWav(dir, 'question', [{ say: QUESTION }]), join(dir, 'question-48k.wav'), MIC_RATE, 1);
      const speech = (await readWavFile(question)).pcm;

      // 2. A session for a fresh room, opened by a webhook signed with the server's own key.
      const roomName = `worker-e2e-${randomUUID()}`;
      const body = webhookBody({ event: 'participant_joined', room: { name: roomName }, participant: { identity: CALLER } });
      const { sessionId } = (await (await postWebhook(cp.fn, body, await signWebhook(body, apiKey, apiSecret))).json()) as { sessionId: string };
      const launched = await waitFor('the launch env', () => cp!.workerEnvs().find((w) => w.env['SESSION_ID'] === sessionId), 15_000);
      const agentIdentity = `agent-${sessionId}`;

      // 3. The caller: hears the agent, watches its state and captions, and notices when the agent subscribes to it.
      caller = new Room();
      const agentAudio: { atMs: number; loudMs: number }[] = [];
      const agentStates: string[] = [];
      const captions: Caption[] = [];
      let agentTrackSid: string | undefined;
      let agentHearsCaller = false;
      caller.on(RoomEvent.TrackSubscribed, (track, publication, participant) => {
        if (participant.identity !== agentIdentity || track.kind !== TrackKind.KIND_AUDIO) return;
        agentTrackSid = publication.sid;
        void (async () => {
          for await (const frame of new AudioStream(track, { sampleRate: 24_000, numChannels: 1 })) {
            const ms = (frame.samplesPerChannel / frame.sampleRate) * 1000;
            agentAudio.push({ atMs: performance.now(), loudMs: rms(frame.data) > LOUD_RMS ? ms : 0 });
          }
        })();
      });
      caller.on(RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
        const state = changed['lk.agent.state'];
        if (participant.identity === agentIdentity && state) agentStates.push(state);
      });
      caller.on(RoomEvent.LocalTrackSubscribed, () => (agentHearsCaller = true));
      caller.registerTextStreamHandler('lk.transcription', (reader, participantInfo) => {
        void reader.readAll().then((text) => captions.push({ identity: participantInfo.identity, text, attributes: reader.info.attributes ?? {} }));
      });
      const callerToken = new AccessToken(apiKey, apiSecret, { identity: CALLER });
      callerToken.addGrant({ room: roomName, roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true });
      await caller.connect(url, await callerToken.toJwt(), { autoSubscribe: true, dynacast: false });
      mic = new AudioSource(MIC_RATE, 1);
      const micPublication = await caller.localParticipant!.publishTrack(
        LocalAudioTrack.createAudioTrack('caller-mic', mic),
        new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
      );

      // The real worker, with what the launcher gave the stand-in plus the LiveKit server and the fake vendors.
      let logs = '';
      let exitCode: number | null | undefined;
      worker = spawn(process.execPath, ['worker/main.ts'], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: process.env['HOME'] ?? '',
          ...consoleEnv(fakes),
          ROOM: launched.env['ROOM'] ?? '',
          SESSION_ID: sessionId,
          WORKER_TOKEN: launched.env['WORKER_TOKEN'] ?? '',
          FUNCTIONS_URL: cp.fn.url,
          LIVEKIT_URL: url,
          LIVEKIT_API_KEY: apiKey,
          LIVEKIT_API_SECRET: apiSecret,
          HEALTH_PORT: '0',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk: Buffer) => (logs = (logs + chunk.toString()).slice(-20_000));
      worker.stdout?.on('data', keep);
      worker.stderr?.on('data', keep);
      worker.once('exit', (code) => (exitCode = code));
      onTestFailed(() => console.error(`worker logs (tail):\n${logs}`));
      expect(launched.env['ROOM']).toBe(roomName);

      // 4. The agent joins as an AGENT participant, listens, and subscribes to the caller.
      const agent = await waitFor('the agent in the room', () => {
        if (exitCode !== undefined) throw new Error(`the worker exited with ${exitCode} before joining`);
        return caller!.remoteParticipants.get(agentIdentity);
      }, 30_000);
      expect(agent.kind).toBe(ParticipantKind.AGENT);
      const agentState = () => caller!.remoteParticipants.get(agentIdentity)?.attributes['lk.agent.state'];
      await waitFor('lk.agent.state = listening', () => agentState() === 'listening', 15_000);
      await waitFor('the agent subscribed to the caller', () => agentHearsCaller, 15_000);
      await waitFor('session status joined or active', async () => ['joined', 'active'].includes(await sessionStatus(cp!, sessionId)), 15_000);
      const statesBeforeQuestion = agentStates.length;

      // 5. The caller asks; the agent thinks, speaks, listens again, and its words arrive as sound and as a caption.
      let speechEndedAt: number | undefined;
      microphone = playMicrophone(mic, speech, stopMic.signal, () => (speechEndedAt ??= performance.now()));
      await waitFor('the question played', () => speechEndedAt, 30_000);
      const loudMsSince = (fromMs: number) => agentAudio.filter((f) => f.atMs >= fromMs).reduce((sum, f) => sum + f.loudMs, 0);
      expect(loudMsSince(0), 'the agent is silent before the question (no greeting)').toBe(0);
      await waitFor('the caller\'s words as a caption', () => captions.find((c) => c.identity === CALLER && c.text === TRANSCRIPT), 20_000);
      await waitFor(
        'lk.agent.state thinking → speaking → listening',
        () => inOrder(agentStates.slice(statesBeforeQuestion), ['thinking', 'speaking', 'listening']),
        30_000,
      );
      await waitFor('agent audio with energy after the question', () => loudMsSince(speechEndedAt!) >= 500, 10_000);
      await waitFor('the agent\'s reply caption', () => captions.some((c) => c.identity === agentIdentity), 10_000);
      expect(captions).toContainEqual({
        identity: agentIdentity,
        text: REPLY,
        attributes: expect.objectContaining({ 'lk.transcription_final': 'true', 'lk.transcribed_track_id': agentTrackSid }),
      });
      expect(captions).toContainEqual({
        identity: CALLER,
        text: TRANSCRIPT,
        attributes: expect.objectContaining({ 'lk.transcription_final': 'true', 'lk.transcribed_track_id': micPublication.sid }),
      });

      // 6. SIGTERM: a clean exit within the bound, the session ended, and the agent gone from the room.
      worker.kill('SIGTERM');
      expect(await waitFor('the worker to exit after SIGTERM', () => exitCode !== undefined && { exitCode }, 20_000)).toEqual({ exitCode: 0 });
      await waitFor('status ended', async () => (await sessionStatus(cp!, sessionId)) === 'ended', 10_000);
      await waitFor('the agent to leave the room', () => !caller!.remoteParticipants.has(agentIdentity), 15_000);
    },
    150_000,
  );
});
