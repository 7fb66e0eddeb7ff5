// The session lifecycle under faults, on the whole real system: livekit-server delivering its own webhooks (signed
// with a key used only for webhooks), the functions in workerd, real Redis, the real launcher and the real
// `node worker/main.ts` joining with the token the functions minted. A worker killed mid-call is replaced inside the
// same session; a caller who rejoins after the session ended by itself gets a new agent; room_finished is final.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Caller } from '../support/caller.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { sleep, waitFor } from '../support/wait.ts';

const HEARTBEAT_TIMEOUT_MS = 10_000;

/** The environment the kernel holds for a running process: what the worker could read, whatever it logs. */
function processEnv(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

describe('session lifecycle with the real LiveKit server', () => {
  let stack: LiveStack;
  const callers: Caller[] = [];

  beforeAll(async () => {
    stack = await startLiveStack({
      bindings: {
        STT_PROVIDERS: 'deepgram',
        LLM_PROVIDERS: 'openai',
        TTS_PROVIDERS: 'elevenlabs',
        WORKER_HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
        LAUNCH_JOIN_TIMEOUT_MS: '30000',
      },
      workerEnv: { IDLE_TIMEOUT_MS: '6000', IDLE_PROMPT_MS: '600000' },
      webhookKey: { key: 'webhookonly', secret: 'webhook-only-secret-0123456789abcdefgh' },
    });
  });
  afterEach(async () => {
    await Promise.allSettled(callers.splice(0).map((c) => c.leave()));
  });
  afterAll(async () => {
    await stack?.close();
  });

  const join = async (room: string, identity: string) => {
    const { token, url } = await stack.token(room, identity);
    const caller = new Caller(identity);
    callers.push(caller);
    await caller.join(url, token);
    return caller;
  };
  const sessionsOf = async (room: string) => (await stack.sessions()).filter((s) => s.room === room);

  it('replaces a worker killed mid-call inside the same session; the worker never held the LiveKit secret', async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    const room = `lc-kill-${randomUUID()}`;
    const caller = await join(room, 'caller-kill');
    const agent = await caller.agent(40_000);
    const [session] = await sessionsOf(room);
    expect(session).toBeDefined();
    expect(agent.identity).toBe(`agent-${session!.id}`);
    await waitFor('the session to be joined', async () => ['joined', 'active'].includes((await stack.session(session!.id))?.status ?? ''), 20_000);

    const [task] = (await stack.tasks(room)).filter((t) => t.state === 'running');
    const env = processEnv(task!.pid!);
    expect(env.LIVEKIT_API_SECRET).toBeUndefined();
    expect(env.LIVEKIT_API_KEY).toBeUndefined();
    expect(env.WORKER_TOKEN).toBeUndefined();
    expect(Object.values(env)).not.toContain('secret');
    expect(env.WORKER_BOOTSTRAP_TOKEN).toBeTruthy();

    // The worker dies without a word (OOM, node crash): no status, no goodbye.
    process.kill(task!.pid!, 'SIGKILL');
    await waitFor('the launcher to see it exit', async () => (await stack.tasks(room)).every((t) => t.state === 'exited'), 10_000);
    // The sweep after the heartbeat timeout starts generation 2 for the SAME session. Real time passes (not a shifted
    // clock): the new worker's credentials are checked against the real clock.
    await sleep(HEARTBEAT_TIMEOUT_MS + 1_000);
    await stack.fn.scheduled(Date.now());
    const relaunched = await waitFor('the relaunched worker to join', async () => {
      const s = await stack.session(session!.id);
      return s && Number(s.launchGeneration) === 2 && ['joined', 'active'].includes(s.status) ? s : undefined;
    }, 40_000);
    expect(relaunched.id).toBe(session!.id);
    expect(await sessionsOf(room)).toHaveLength(1);
    await waitFor('the new agent in the room', () => {
      const agents = [...caller.room.remoteParticipants.values()].filter((p) => p.identity === agent.identity);
      return agents.length === 1 && caller.agentState() !== undefined;
    }, 30_000);
    expect((await stack.tasks(room)).filter((t) => t.state === 'running')).toHaveLength(1);
  }, 180_000);

  it('gives a caller who rejoins after the session ended by itself a new agent (long SIP room name); room_finished ends it', async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    // A SIP-style room (LiveKit's SIP dispatch names rooms like this): long, with '+', through every hop.
    const room = `_+15551234567_${'AbCdEfGh'.repeat(16)}_${randomUUID()}`;
    const first = await join(room, 'caller-rejoin');
    const firstAgent = await first.agent(40_000);
    const [firstSession] = await sessionsOf(room);
    // Nobody says anything: the worker leaves at IDLE_TIMEOUT_MS and reports ended.
    const ended = await waitFor('the idle session to end', async () => {
      const s = await stack.session(firstSession!.id);
      return s?.status === 'ended' ? s : s === undefined ? { status: 'gone' } : undefined;
    }, 40_000);
    expect(ended.status === 'ended' || ended.status === 'gone').toBe(true);
    await waitFor('the first agent to leave', () => ![...first.room.remoteParticipants.values()].some((p) => p.identity === firstAgent.identity), 20_000);

    // A second caller joins the same room (same incarnation): a fresh session and a fresh agent.
    const second = await join(room, 'caller-rejoin-2');
    const secondAgent = await second.agent(40_000);
    expect(secondAgent.identity).not.toBe(firstAgent.identity);
    const live = await sessionsOf(room);
    expect(live.map((s) => s.id)).not.toContain(firstSession!.id);
    expect(live).toHaveLength(1);

    // Everyone leaves: LiveKit finishes the room; nothing is left running for it.
    await Promise.all(callers.splice(0).map((c) => c.leave()));
    await waitFor('no worker for the finished room', async () => (await stack.tasks(room)).every((t) => t.state === 'exited'), 40_000);
    await waitFor('no live session for the room', async () => (await sessionsOf(room)).length === 0, 20_000);
  }, 180_000);
});
