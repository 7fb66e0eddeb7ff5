// Faults with the real LiveKit server, the real worker and the real functions: a worker killed mid-call is replaced
// by the reconcile and the caller hears the agent again; a livekit-server restart mid-call leaves no orphan worker;
// functions that cannot be reached mid-call do not stop the conversation, and its metrics arrive once they are back.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { DEFAULT_TRANSCRIPT } from '../fakes/kit/script.ts';
import { Caller } from '../support/caller.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { waitFor } from '../support/wait.ts';
import { makeTempDir, removeDir, spokenPcm48k } from './console-support.ts';

const HEARTBEAT_TIMEOUT_MS = 10_000;

describe('faults around a call in a real LiveKit room', () => {
  let stack: LiveStack;
  let dir: string;
  let question: Int16Array;
  const callers: Caller[] = [];

  beforeAll(async () => {
    stack = await startLiveStack({ bindings: { WORKER_HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS) } });
    dir = await makeTempDir('livekit-faults');
    question = await spokenPcm48k(dir, 'question', 'Are you there');
  });
  afterEach(async () => {
    await Promise.all(callers.splice(0).map((c) => c.leave()));
    stack.fakes.reset();
  });
  afterAll(async () => {
    await stack?.close();
    await removeDir(dir);
  });

  /** A caller in a fresh room with its agent listening, and the room's session id. */
  async function callerWithAgent(prefix: string): Promise<{ caller: Caller; room: string; sessionId: string }> {
    const room = `${prefix}-${randomUUID()}`;
    const { token, url } = await stack.token(room, `caller-${prefix}`);
    const caller = new Caller(`caller-${prefix}`);
    callers.push(caller);
    await caller.join(url, token);
    await caller.agent(40_000);
    await waitFor('the agent listening to the caller', () => caller.heardByAgent && caller.agentState() === 'listening', 20_000);
    const session = (await stack.sessions()).find((s) => s.room === room);
    return { caller, room, sessionId: session!.id };
  }

  async function answered(caller: Caller): Promise<void> {
    const endedAt = await caller.say(question);
    await waitFor('the agent\'s answer as sound', () => caller.loudMsSince(endedAt) >= 300, 20_000);
  }

  it('a worker killed mid-call is replaced by the reconcile, and the caller hears the agent again', async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    const { caller, room, sessionId } = await callerWithAgent('killed');
    await answered(caller);
    const [first] = await stack.tasks(room);
    const firstAgent = await caller.agent();
    process.kill(first!.pid!, 'SIGKILL');
    await waitFor('the killed worker seen exited by the launcher', async () => (await stack.tasks(room))[0]?.state === 'exited', 10_000);

    // The cron, once the heartbeat is overdue (on the real clock: the new worker's credentials are minted by it):
    // the session's worker fell silent, so it is replaced.
    await waitFor('the heartbeat overdue', async () => {
      const s = await stack.session(sessionId);
      return Date.now() - Number(s?.['lastSeenAtMs'] ?? s?.['updatedAtMs']) > HEARTBEAT_TIMEOUT_MS + 200;
    }, HEARTBEAT_TIMEOUT_MS + 10_000, 250);
    await stack.fn.scheduled();
    await waitFor('a second worker', async () => (await stack.tasks(room)).length === 2, 20_000);
    // The same identity joins again as a new participant (LiveKit drops the dead one for it).
    await waitFor('a new agent participant, listening', () => {
      const agent = caller.room.remoteParticipants.get(firstAgent.identity);
      return agent !== undefined && agent.sid !== firstAgent.sid && agent.attributes['lk.agent.state'] === 'listening';
    }, 40_000);
    const session = await waitFor('the new worker\'s join reported', async () => {
      const s = await stack.session(sessionId);
      return s && ['joined', 'active'].includes(s.status) && s;
    }, 20_000);
    expect(session).toMatchObject({ launchGeneration: 2 });
    await answered(caller);
    expect((await stack.tasks(room)).filter((t) => t.state === 'running')).toHaveLength(1);
  }, 150_000);

  // A single-node livekit-server keeps rooms in memory: after a restart the room is gone, and the caller's SDK
  // rejoins a new incarnation of it (new room sid, room_started again). The worker does not follow: its session
  // belonged to the old incarnation, so it ends that session cleanly and exits, and the new incarnation's own session
  // brings exactly one new agent. (Following would put two agents in the room.)
  it('a livekit-server restart mid-call: the worker ends its session and exits, and the rejoined room gets one new agent', async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    const { caller, room, sessionId } = await callerWithAgent('restart');
    const firstAgent = await caller.agent();
    await stack.livekit.restart();

    const [firstTask] = await waitFor('the first worker to exit', async () => {
      const tasks = await stack.tasks(room);
      return tasks[0]?.state === 'exited' && tasks;
    }, 30_000);
    expect(firstTask).toMatchObject({ exitCode: 0 });
    await waitFor('the first session ended', async () => (await stack.session(sessionId))?.status === 'ended', 15_000);
    const agent = await waitFor('a new agent, listening', () => {
      const agents = [...caller.room.remoteParticipants.values()].filter((p) => p.identity.startsWith('agent-'));
      return agents.length === 1 && agents[0]!.identity !== firstAgent.identity && agents[0]!.attributes['lk.agent.state'] === 'listening' && agents[0];
    }, 60_000);
    const live = (await stack.sessions()).filter((s) => s.room === room && s.status !== 'ended');
    expect(live.map((s) => `agent-${s.id}`)).toEqual([agent.identity]);
    stack.fakes.openai.script.answer(DEFAULT_TRANSCRIPT, 'Back again.');
    await answered(caller);
    const tasks = await stack.tasks(room);
    expect(tasks.filter((t) => t.state === 'running')).toHaveLength(1);
    expect(tasks).toHaveLength(2);
  }, 150_000);

  it('functions that cannot be reached mid-call: the conversation goes on, and its metrics arrive later', async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    const { caller } = await callerWithAgent('unreachable');
    const elevenlabsBefore = await ttsSuccesses();
    stack.gate.shut();
    try {
      stack.fakes.openai.script.answer(DEFAULT_TRANSCRIPT, 'Still here.');
      await answered(caller);
      await waitFor('the answer\'s caption', () => caller.captions.some((c) => c.text === 'Still here.'), 10_000);
      // The worker tried to report meanwhile (its outbox retries), and got nowhere.
      await waitFor('a refused report', () => stack.gate.refused.some((path) => path.startsWith('/v1/worker/')), 40_000);
      expect(await ttsSuccesses()).toBe(elevenlabsBefore);
    } finally {
      stack.gate.open();
    }
    await waitFor('the turn\'s metrics after the functions came back', async () => (await ttsSuccesses()) > elevenlabsBefore, 60_000);
  }, 150_000);

  async function ttsSuccesses(): Promise<number> {
    const rows = await stack.providers();
    return rows.find((r) => r.modality === 'tts' && r.provider === 'elevenlabs')?.successes ?? 0;
  }
});
