// The real media worker in a real LiveKit room, launched by LiveKit's own webhook through the functions and the local
// launcher: a caller (rtc-node) speaks espeak-ng speech over WebRTC and records what comes back. The response delay
// is measured on the audio the caller received; the agent's states and both sides' captions arrive as LiveKit's client
// components read them; a barge-in over WebRTC silences the agent, and the history keeps only what the caller heard.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { HistoryMessage } from '../../functions/contract.ts';
import { Caller, inOrder } from '../support/caller.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { waitFor } from '../support/wait.ts';
import { makeTempDir, removeDir, spokenPcm48k } from './console-support.ts';

const QUESTION = 'What is the weather like today';
const TRANSCRIPT = 'what is the weather like today';
// One sentence: one caption, one TTS request.
const REPLY = 'It is sunny and warm.';
const INTERRUPTION = 'Wait, stop please';
// Long enough (about 15 s of fake speech) that the caller is sure to talk over it.
const LONG_REPLY =
  'Let me tell you a long story about the weather in the mountains. ' +
  'In the morning the fog rolls down the valley and covers every roof in the village. ' +
  'By noon the sun breaks through and the whole valley turns green and gold. ' +
  'In the evening the wind comes back and the clouds gather again over the peaks.';
const BARGE_IN_MIN_MS = 300;

describe('the media worker in a real LiveKit room', () => {
  let stack: LiveStack;
  let dir: string;
  let caller: Caller | undefined;

  beforeAll(async () => {
    stack = await startLiveStack({
      bindings: { STT_PROVIDERS: 'deepgram', LLM_PROVIDERS: 'openai', TTS_PROVIDERS: 'elevenlabs' },
      workerEnv: { BARGE_IN_MIN_MS: String(BARGE_IN_MIN_MS) },
    });
    dir = await makeTempDir('livekit-worker');
  });
  afterAll(async () => {
    await caller?.leave();
    await stack?.close();
    await removeDir(dir);
  });

  it('answers a spoken question with audio, states and captions; a barge-in silences it and history keeps what was heard', async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    const { fakes } = stack;
    fakes.deepgram.script.pushTranscripts(TRANSCRIPT, 'what about tomorrow', 'wait stop please');
    fakes.openai.script.answer(TRANSCRIPT, REPLY);
    fakes.openai.script.answer('what about tomorrow', LONG_REPLY);
    fakes.openai.script.answer('wait stop please', 'Sure.');
    // Thinking lasts long enough for the caller to see that state, however the server paces attribute updates.
    fakes.openai.setProfile({ ttfbMs: 400 });
    const [question, followUp, interruption] = await Promise.all([
      spokenPcm48k(dir, 'question', QUESTION),
      spokenPcm48k(dir, 'follow-up', 'What about tomorrow'),
      spokenPcm48k(dir, 'interruption', INTERRUPTION),
    ]);

    // 1. The caller joins with a token from the functions; LiveKit's webhook launches exactly one agent.
    const room = `worker-e2e-${randomUUID()}`;
    const { token, url } = await stack.token(room, 'caller-worker-e2e');
    caller = new Caller('caller-worker-e2e');
    await caller.join(url, token);
    const agent = await caller.agent(40_000);
    await waitFor('lk.agent.state = listening', () => caller!.agentState() === 'listening', 20_000);
    await waitFor('the agent subscribed to the caller', () => caller!.heardByAgent, 15_000);
    const [session] = (await stack.sessions()).filter((s) => s.room === room);
    expect(session).toBeDefined();
    expect(agent.identity).toBe(`agent-${session!.id}`);

    // 2. The question: thinking → speaking → listening, sound after the end of speech, captions of both sides.
    const statesBefore = caller.agentStates.length;
    expect(caller.loudMsSince(0), 'the agent is silent before the question (no greeting)').toBe(0);
    const questionEndedAt = await caller.say(question);
    await waitFor('agent audio with energy after the question', () => caller!.loudMsSince(questionEndedAt) >= 500, 20_000);
    const responseDelayMs = caller.firstLoudAfter(questionEndedAt)! - questionEndedAt;
    console.log(`response delay over WebRTC, measured on the audio the caller received: ${Math.round(responseDelayMs)} ms`);
    expect(responseDelayMs).toBeGreaterThan(0);
    await waitFor(
      'lk.agent.state thinking → speaking → listening',
      () => inOrder(caller!.agentStates.slice(statesBefore).map((s) => s.state), ['thinking', 'speaking', 'listening']),
      30_000,
    );
    await waitFor('the agent\'s reply caption', () => caller!.captions.find((c) => c.identity === agent.identity && c.text === REPLY), 10_000);
    expect(caller.captions).toContainEqual(
      expect.objectContaining({
        identity: caller.identity,
        text: TRANSCRIPT,
        attributes: expect.objectContaining({ 'lk.transcription_final': 'true', 'lk.transcribed_track_id': caller.micTrackSid, 'lk.segment_id': expect.any(String) }),
      }),
    );
    expect(caller.captions).toContainEqual(
      expect.objectContaining({
        identity: agent.identity,
        text: REPLY,
        attributes: expect.objectContaining({ 'lk.transcription_final': 'true', 'lk.transcribed_track_id': caller.agentTrackSid, 'lk.segment_id': expect.any(String) }),
      }),
    );

    // 3. A long answer, talked over: the agent goes quiet soon after the caller starts, and listens.
    const followUpEndedAt = await caller.say(followUp);
    await waitFor('the long answer playing', () => caller!.loudMsSince(followUpEndedAt) >= 1_500, 20_000);
    const interruptionEndedAt = await caller.say(interruption);
    const interruptionStartedAt = caller.lastSpeechStartAt!;
    await waitFor('the agent to stop speaking', () => {
      const last = caller!.lastLoudAt();
      return last !== undefined && performance.now() - last > 1_000;
    }, 15_000);
    const silencedAfterMs = caller.lastLoudAt()! - interruptionStartedAt;
    console.log(`barge-in: the agent went quiet ${Math.round(silencedAfterMs)} ms after the caller started talking over it`);
    // The bound: the configured barge-in minimum plus the VAD's window and the trip through the server (generous).
    expect(silencedAfterMs).toBeLessThan(BARGE_IN_MIN_MS + 1_500);
    const longAnswerLoudMs = caller.loudMsSince(followUpEndedAt) - caller.loudMsSince(interruptionEndedAt + 5_000);
    expect(longAnswerLoudMs, 'far less than the whole long answer was played').toBeLessThan(10_000);

    // 4. History, as the functions store it: the interrupted answer is kept as what was heard, a strict prefix.
    const history = await waitFor('the interrupted answer in the history', async () => {
      const raw = await stack.redis.lrange(`session:${session!.id}:history`, 0, -1);
      const messages = raw.map((m) => JSON.parse(m) as HistoryMessage);
      return messages.some((m) => m.role === 'user' && m.text.includes('wait stop please')) && messages;
    }, 20_000);
    const assistant = history.filter((m) => m.role === 'assistant');
    expect(assistant[0]).toMatchObject({ text: REPLY });
    expect(assistant[1]).toMatchObject({ interrupted: true });
    const heard = assistant[1]!.text;
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.length).toBeLessThan(LONG_REPLY.length);
    expect(LONG_REPLY.startsWith(heard.replace(/[.…]*$/, '').trimEnd())).toBe(true);
  }, 180_000);
});
