// The loop closed by LiveKit itself: a caller takes a token from POST /v1/token and joins; livekit-server delivers its
// own signed webhooks to the functions; the local launcher starts `node worker/main.ts`; the worker joins, fetches its
// session, talks, reports metrics and history; the caller leaves; LiveKit sends room_finished; the worker exits and
// the session ends. Exactly one agent per room, even when a webhook is delivered again byte for byte. The health
// scores follow what the worker reported: a room opened after a provider failed gets the other provider first.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { HistoryMessage } from '../../functions/contract.ts';
import { Caller } from '../support/caller.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { waitFor } from '../support/wait.ts';
import { makeTempDir, removeDir, spokenPcm48k } from './console-support.ts';

describe('the loop closed by LiveKit itself', () => {
  let stack: LiveStack;
  let dir: string;
  let question: Int16Array;
  const callers: Caller[] = [];

  beforeAll(async () => {
    // Two failures in a row open a provider's circuit in the health scores. One worker's batch counts for at most
    // one of them (no single worker can open a circuit for everybody), so it takes failures seen in two rooms.
    stack = await startLiveStack({ bindings: { HEALTH_OPEN_AFTER_FAILURES: '2', HEALTH_COOL_DOWN_MS: '600000' } });
    dir = await makeTempDir('livekit-loop');
    question = await spokenPcm48k(dir, 'question', 'What time is it');
  });
  afterEach(async () => {
    await Promise.all(callers.splice(0).map((c) => c.leave()));
    stack.fakes.reset();
  });
  afterAll(async () => {
    await stack?.close();
    await removeDir(dir);
  });

  async function callIn(room: string, identity: string): Promise<Caller> {
    const { token, url } = await stack.token(room, identity);
    expect(url).toBe(stack.livekit.url);
    const caller = new Caller(identity);
    callers.push(caller);
    await caller.join(url, token);
    return caller;
  }

  it('one agent per room, launched by LiveKit, talks and reports, and leaves with the caller; a redelivered webhook changes nothing', async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    stack.fakes.deepgram.script.pushTranscripts('what time is it');
    stack.fakes.openai.script.answer('what time is it', 'It is noon.');
    const room = `loop-${randomUUID()}`;
    const caller = await callIn(room, 'caller-loop');

    // LiveKit's own webhooks opened the session; the launcher started exactly one worker, which joined as the agent.
    const agent = await caller.agent(40_000);
    await waitFor('LiveKit\'s participant_joined at the functions', () =>
      stack.gate.webhooks.some((w) => w.event === 'participant_joined' && w.room === room && w.status === 200),
    );
    const sessions = (await stack.sessions()).filter((s) => s.room === room);
    expect(sessions).toHaveLength(1);
    const sessionId = sessions[0]!.id;
    expect(agent.identity).toBe(`agent-${sessionId}`);
    await waitFor('session active', async () => (await stack.session(sessionId))?.status === 'active', 15_000);

    // A turn: the worker fetched its session (the ranked order) and talks through the fakes.
    await waitFor('the agent listening to the caller', () => caller.heardByAgent && caller.agentState() === 'listening', 15_000);
    const endedAt = await caller.say(question);
    await waitFor('the answer as sound', () => caller.loudMsSince(endedAt) >= 300, 20_000);
    await waitFor('the answer as a caption', () => caller.captions.some((c) => c.identity === agent.identity && c.text === 'It is noon.'), 10_000);

    // Every webhook LiveKit delivered for this room, delivered again exactly (LiveKit retries at least once): no
    // second session, no second worker, no second agent.
    const delivered = stack.gate.webhooks.filter((w) => w.room === room);
    expect(delivered.map((w) => w.event)).toEqual(expect.arrayContaining(['room_started', 'participant_joined']));
    for (const webhook of delivered) expect(await stack.gate.redeliver(webhook)).toBe(200);
    expect((await stack.sessions()).filter((s) => s.room === room)).toHaveLength(1);
    expect(await stack.tasks(room)).toHaveLength(1);
    expect(caller.agentsSeen).toEqual([agent.identity]);

    // Metrics and history arrived at the functions.
    await waitFor('the turn\'s provider outcomes in the health scores', async () => {
      const rows = await stack.providers();
      return ['deepgram', 'openai', 'elevenlabs'].every((p) => rows.some((r) => r.provider === p && r.successes > 0));
    }, 20_000);
    const history = await waitFor('history stored', async () => {
      const raw = await stack.redis.lrange(`session:${sessionId}:history`, 0, -1);
      return raw.length >= 2 && raw.map((m) => JSON.parse(m) as HistoryMessage);
    }, 20_000);
    expect(history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what time is it'],
      ['assistant', 'It is noon.'],
    ]);

    // The caller leaves: LiveKit finishes the room, the worker exits cleanly and the session ends.
    await caller.leave();
    await waitFor('room_finished from LiveKit', () => stack.gate.webhooks.some((w) => w.event === 'room_finished' && w.room === room), 30_000);
    const [task] = await waitFor('the worker to exit', async () => {
      const tasks = await stack.tasks(room);
      return tasks.every((t) => t.state === 'exited') && tasks;
    }, 30_000);
    expect(task).toMatchObject({ exitCode: 0 });
    await waitFor('session ended', async () => (await stack.session(sessionId))?.status === 'ended', 15_000);
  }, 150_000);

  it('a room opened after the primary LLM failed in other rooms gets a backup LLM first', async () => {
    onTestFailed(async () => console.error(`providers: ${JSON.stringify(await stack.providers())}\nlauncher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    const { openai } = stack.fakes;
    const openaiChats = () => openai.requests.filter((r) => r.route === 'chat').length;
    const answeredBy = (caller: Caller, agent: string) => caller.captions.some((c) => c.identity === agent);
    // Rooms A1 and A2: OpenAI's chat answers 500; each worker fails over to a backup and reports both attempts.
    // (Which backup answers is the ranking's business: it also demotes a provider far slower than its peers.)
    openai.faults.push({ kind: 'status', status: 500, route: 'chat', times: 10 });
    // The ranking also demotes a provider far slower than its peers (3×): the backups answer no faster than OpenAI
    // did, so that failures alone decide the order here.
    stack.fakes.anthropic.setProfile({ ttfbMs: 100 });
    stack.fakes.groq.setProfile({ ttfbMs: 100 });
    for (const [i, name] of ['a1', 'a2'].entries()) {
      const chatsBefore = openaiChats();
      const caller = await callIn(`health-${name}-${randomUUID()}`, `caller-${name}`);
      const agent = await caller.agent(40_000);
      await waitFor(`agent ${name} listening`, () => caller.heardByAgent && caller.agentState() === 'listening', 15_000);
      const endedAt = await caller.say(question);
      await waitFor(`the backup's answer in room ${name}`, () => answeredBy(caller, agent.identity) && caller.loudMsSince(endedAt) >= 300, 20_000);
      // (More than one request when a speculative one on a lagging hypothesis was asked first: each asks OpenAI first.)
      expect(openaiChats(), `room ${name} asked OpenAI first`).toBeGreaterThan(chatsBefore);
      await waitFor(`room ${name}'s failed OpenAI attempt in the health scores`, async () =>
        (await stack.providers()).some((r) => r.modality === 'llm' && r.provider === 'openai' && r.failures >= i + 1), 20_000);
    }
    expect((await stack.providers()).find((r) => r.modality === 'llm' && r.provider === 'openai')).toMatchObject({ circuit: 'open' });

    // Room B: launched with the health-ranked order, its worker asks a backup first and never OpenAI.
    const chatsBeforeB = openaiChats();
    const second = await callIn(`health-b-${randomUUID()}`, 'caller-b');
    const agentB = await second.agent(40_000);
    await waitFor('agent B listening', () => second.heardByAgent && second.agentState() === 'listening', 15_000);
    const endedB = await second.say(question);
    await waitFor('room B answered', () => answeredBy(second, agentB.identity) && second.loudMsSince(endedB) >= 300, 20_000);
    expect(openaiChats()).toBe(chatsBeforeB);
  }, 150_000);
});
