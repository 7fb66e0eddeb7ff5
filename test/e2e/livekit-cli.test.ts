// LiveKit's own CLI as an independent peer: `lk room join --publish speech.ogg` opens a room the way any LiveKit
// client would (Go SDK, not our rtc-node caller). LiveKit's webhook then launches the real worker through the functions
// and the local launcher, and the agent must hear the speech and answer. One room first, then ten at once.
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { RoomServiceClient } from 'livekit-server-sdk';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { HistoryMessage } from '../../functions/contract.ts';
import { killLkPeers, lkJoin, speechOgg, type LkPeer } from '../support/lk-peer.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { waitFor } from '../support/wait.ts';
import { makeTempDir, removeDir, type Part } from '../e2e/console-support.ts';

const QUESTION = 'What is the weather like today';
const TRANSCRIPT = 'what is the weather like today';
const REPLY = 'It is sunny and warm.';
// lk publishes from the moment it joins, while the agent is still starting (seconds; far more with ten workers
// starting on two cores). The question comes again every few seconds for long enough that the agent hears a whole
// one however late it subscribes; the test ends (and kills lk) as soon as it was answered.
const REPEATS = 12;
const SPEECH: Part[] = [{ silenceMs: 1_000 }, ...Array.from({ length: REPEATS }, () => [{ say: QUESTION }, { silenceMs: 6_000 }]).flat()];
const ROOMS_AT_ONCE = 10;

interface ChatBody {
  messages: { role: string; content: string }[];
}

describe('LiveKit\'s own CLI as a caller', () => {
  let stack: LiveStack;
  let dir: string;
  let ogg: string;
  let rooms: RoomServiceClient;

  beforeAll(async () => {
    stack = await startLiveStack({ bindings: { STT_PROVIDERS: 'deepgram', LLM_PROVIDERS: 'openai', TTS_PROVIDERS: 'elevenlabs' } });
    dir = await makeTempDir('livekit-cli');
    ogg = await speechOgg(dir, 'question', SPEECH);
    rooms = new RoomServiceClient(stack.livekit.httpUrl, stack.livekit.apiKey, stack.livekit.apiSecret);
  });
  afterAll(async () => {
    await killLkPeers();
    // Stops the launcher, which stops every worker it started (SIGTERM, then SIGKILL after its grace).
    await stack?.close();
    await removeDir(dir);
  });

  const join = (room: string, identity: string): LkPeer =>
    lkJoin({ url: stack.livekit.url, apiKey: stack.livekit.apiKey, apiSecret: stack.livekit.apiSecret, room, identity, ogg });

  /** Agent participants in the room now, as LiveKit itself lists them. */
  const agentsInRoom = async (room: string) => (await rooms.listParticipants(room)).filter((p) => p.kind === ParticipantInfo_Kind.AGENT);

  /** Every agent identity LiveKit ever announced joining the room (a second agent that came and went shows here). */
  const agentsJoined = (room: string) => {
    const identities = stack.gate.webhooks
      .filter((w) => w.event === 'participant_joined' && w.room === room)
      .map((w) => (JSON.parse(w.body) as { participant?: { identity?: string; kind?: string } }).participant)
      .filter((p) => p?.kind === 'AGENT')
      .map((p) => p!.identity);
    return [...new Set(identities)];
  };

  /** The session's history as the worker reported it: the caller's words and the agent's answer, once both are in. */
  const answeredTurn = async (sessionId: string) => {
    const raw = await stack.redis.lrange(`session:${sessionId}:history`, 0, -1);
    const messages = raw.map((m) => JSON.parse(m) as HistoryMessage);
    const user = messages.find((m) => m.role === 'user');
    const assistant = messages.find((m) => m.role === 'assistant');
    return user && assistant ? { user, assistant } : undefined;
  };

  /** Once lk left, the room's worker leaves too (the last caller gone) and its process exits. */
  const workerExited = (room: string, timeoutMs: number) =>
    waitFor(`the worker of ${room} to exit`, async () => (await stack.tasks(room)).every((t) => t.state === 'exited'), timeoutMs, 250);

  const sessionsOf = async (room: string) => (await stack.sessions()).filter((s) => s.room === room);

  /** One agent, one session, one worker process for the room, and LiveKit never saw another agent join it. */
  async function expectExactlyOneAgent(room: string): Promise<void> {
    expect(await stack.tasks(room)).toHaveLength(1);
    expect(await sessionsOf(room)).toHaveLength(1);
    const [session] = await sessionsOf(room);
    const present = await agentsInRoom(room);
    expect(present.map((p) => p.identity)).toEqual([`agent-${session!.id}`]);
    expect(agentsJoined(room)).toEqual([`agent-${session!.id}`]);
  }

  it('a room opened by lk gets exactly one agent, which hears the speech and answers it', async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    const { fakes } = stack;
    fakes.reset();
    fakes.deepgram.script.pushTranscripts(...Array.from({ length: REPEATS }, () => TRANSCRIPT));
    fakes.openai.script.answer(TRANSCRIPT, REPLY);
    const room = `lk-cli-${randomUUID()}`;
    const peer = join(room, 'lk-caller');
    await peer.connected();

    const agent = await waitFor('an agent in the room', async () => (await agentsInRoom(room))[0], 60_000, 250);
    const [session] = await sessionsOf(room);
    expect(agent.identity).toBe(`agent-${session!.id}`);

    // Heard: Deepgram got the caller's audio and the LLM got its words as the last user message.
    const chat = await waitFor('a chat request with the transcript', () =>
      fakes.openai.requests.find((r) => {
        if (r.route !== 'chat' || !r.bodyText) return false;
        return (JSON.parse(r.bodyText) as ChatBody).messages.at(-1)?.content === TRANSCRIPT;
      }), 60_000, 100);
    expect(chat).toBeDefined();
    expect(fakes.deepgram.requests.some((r) => r.route === 'listen')).toBe(true);
    // Answered: ElevenLabs was asked to speak the reply, and the session's history holds the turn.
    await waitFor('a TTS request', () => fakes.elevenlabs.requests.some((r) => r.route?.startsWith('tts')), 20_000, 100);
    const turn = await waitFor('the answered turn in the history', () => answeredTurn(session!.id), 20_000, 250);
    expect(turn.user.text).toBe(TRANSCRIPT);
    expect(turn.assistant.text).toBe(REPLY);

    await expectExactlyOneAgent(room);
    await peer.kill();
    await workerExited(room, 30_000);
  }, 150_000);

  it(`${ROOMS_AT_ONCE} rooms opened by lk at once each get exactly one agent, and every one is answered`, async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-20_000)}`));
    const { fakes } = stack;
    fakes.reset();
    // Unscripted: every utterance is heard as 'hello there' and answered 'You said: "hello there". …', per room.
    const names = Array.from({ length: ROOMS_AT_ONCE }, (_, i) => `lk-cli-many-${i}-${randomUUID()}`);
    const peers = names.map((room, i) => join(room, `lk-caller-${i}`));
    await Promise.all(peers.map((p) => p.connected(60_000)));

    // Bounded generously: ten workers start (Node, rtc-node, Silero VAD on onnxruntime) on a shared two-core machine.
    const sessionIds = await waitFor(`one session for each of the ${ROOMS_AT_ONCE} rooms`, async () => {
      const all = await stack.sessions();
      const ids = names.map((room) => all.find((s) => s.room === room)?.id);
      return ids.every((id) => id !== undefined) && (ids as string[]);
    }, 60_000, 500);
    // Answered by the LLM: the fake's reply echoes the caller's words. Ten workers on two cores may miss a vendor
    // deadline and apologise for a turn first; lk asks again every few seconds, and the next turn is answered.
    const answeredByLlm = async (sessionId: string) => {
      const raw = await stack.redis.lrange(`session:${sessionId}:history`, 0, -1);
      const messages = raw.map((m) => JSON.parse(m) as HistoryMessage);
      return messages.some((m, i) => m.role === 'assistant' && i > 0 && m.text.includes(messages[i - 1]!.text));
    };
    // On failure: each room the LLM did not answer, its history and its own worker's last log lines (the tail of
    // all logs would show the rooms that were fine).
    onTestFailed(async () => {
      const logs = stack.logs().split('\n');
      for (const [i, id] of sessionIds.entries()) {
        if (await answeredByLlm(id)) continue;
        const raw = await stack.redis.lrange(`session:${id}:history`, 0, -1);
        const history = raw.map((m) => { const h = JSON.parse(m) as HistoryMessage; return `${h.role}: ${h.text}`; });
        const tasks = await stack.tasks(names[i]);
        const lines = logs.filter((l) => tasks.some((t) => l.startsWith(`[${t.taskId}]`)));
        console.error(`room ${i} unanswered; tasks ${JSON.stringify(tasks)}; history ${JSON.stringify(history)}\n${lines.slice(-60).join('\n')}`);
      }
    });
    await waitFor(`a turn answered by the LLM in all ${ROOMS_AT_ONCE} rooms`, async () =>
      (await Promise.all(sessionIds.map(answeredByLlm))).every(Boolean), 180_000, 1_000);

    // Every room's turn went through the fakes: a chat request and a TTS request each (at least).
    expect(fakes.openai.requests.filter((r) => r.route === 'chat').length).toBeGreaterThanOrEqual(ROOMS_AT_ONCE);
    expect(fakes.elevenlabs.requests.filter((r) => r.route?.startsWith('tts')).length).toBeGreaterThanOrEqual(ROOMS_AT_ONCE);
    for (const room of names) await expectExactlyOneAgent(room);
    await Promise.all(peers.map((p) => p.kill()));
    for (const room of names) await workerExited(room, 60_000);
  }, 300_000);
});
