// A caller who stops talking, in a real room with the real worker (`node worker/main.ts`, launched by LiveKit's own
// webhooks): after IDLE_PROMPT_MS of silence the agent checks in, once; after AWAY_GOODBYE_MS more it says goodbye;
// then the worker ends the session as `user_away`, leaves the room (the caller is still in it, and heard the goodbye
// out) and exits 0. The fixed lines are spoken, not asked of the LLM.
import { randomUUID } from 'node:crypto';
import { ParticipantKind } from '@livekit/rtc-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Caller } from '../support/caller.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { waitFor } from '../support/wait.ts';
import { makeTempDir, removeDir, spokenPcm48k } from './console-support.ts';

const IDLE_PROMPT_MS = 2_000;
const AWAY_GOODBYE_MS = 2_000;
const CHECK_IN = 'Are you still there?';
const GOODBYE = 'It seems you have stepped away. Goodbye!';
/** The caller's side of a timer: the agent's audio reaches it a little after the worker played it. */
const SLACK_MS = 300;

describe('a caller who goes quiet, in a real room', () => {
  let stack: LiveStack;
  let dir: string;
  let question: Int16Array;
  let caller: Caller | undefined;

  beforeAll(async () => {
    stack = await startLiveStack({
      workerEnv: { GREETING: '', IDLE_PROMPT_MS: String(IDLE_PROMPT_MS), IDLE_PROMPT_TEXT: CHECK_IN, AWAY_GOODBYE_MS: String(AWAY_GOODBYE_MS), AWAY_GOODBYE_TEXT: GOODBYE },
    });
    dir = await makeTempDir('livekit-user-away');
    question = await spokenPcm48k(dir, 'question', 'What time is it');
  });
  afterAll(async () => {
    await caller?.leave();
    await stack?.close();
    await removeDir(dir);
  });

  it('is checked on once, then bid goodbye, and the worker ends the session (user_away) and leaves', async () => {
    onTestFailed(() => console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`));
    stack.fakes.deepgram.script.pushTranscripts('what time is it');
    stack.fakes.openai.script.answer('what time is it', 'It is noon.');
    const room = `away-${randomUUID()}`;
    const { token, url } = await stack.token(room, 'caller-away');
    caller = new Caller('caller-away');
    await caller.join(url, token);
    const agent = await caller.agent(40_000);
    await waitFor('the agent listening to the caller', () => caller!.heardByAgent && caller!.agentState() === 'listening', 15_000);

    const endedAt = await caller.say(question);
    await waitFor('the answer as sound', () => caller!.loudMsSince(endedAt) >= 300, 20_000);
    const captionOf = (text: string) => caller!.captions.find((c) => c.identity === agent.identity && c.text === text);
    await waitFor('the answer as a caption', () => captionOf('It is noon.'), 10_000);
    const answerHeardUntil = await waitFor('the answer played out', () => {
      const last = caller!.lastLoudAt();
      return last !== undefined && performance.now() - last > 500 && last;
    }, 10_000);
    const answeredAtEpochMs = Date.now();

    // The caller says nothing more (their microphone sends silence): one check-in, after the configured silence.
    const checkIn = await waitFor('the check-in', () => captionOf(CHECK_IN), IDLE_PROMPT_MS + 10_000);
    expect(checkIn.atMs - answerHeardUntil).toBeGreaterThanOrEqual(IDLE_PROMPT_MS - SLACK_MS);
    await waitFor('the check-in as sound', () => caller!.loudMsSince(checkIn.atMs - SLACK_MS) >= 300, 10_000);
    const checkInHeardUntil = await waitFor('the check-in played out', () => {
      const last = caller!.lastLoudAt();
      return last !== undefined && last > checkIn.atMs - SLACK_MS && performance.now() - last > 500 && last;
    }, 10_000);

    // Still nothing: the goodbye, heard to its end, and only then does the agent leave the room.
    const goodbye = await waitFor('the goodbye', () => captionOf(GOODBYE), AWAY_GOODBYE_MS + 10_000);
    expect(goodbye.atMs - checkInHeardUntil).toBeGreaterThanOrEqual(AWAY_GOODBYE_MS - SLACK_MS);
    const agentLeftAt = await waitFor('the agent to leave the room', () => {
      const present = [...caller!.room.remoteParticipants.values()].some((p) => p.kind === ParticipantKind.AGENT);
      return !present && performance.now();
    }, 20_000);
    const goodbyeLoudMs = caller.loudMsSince(checkInHeardUntil + 1);
    expect(goodbyeLoudMs).toBeGreaterThanOrEqual(1_000);
    expect(caller.lastLoudAt()!).toBeLessThanOrEqual(agentLeftAt);
    expect(caller.room.isConnected).toBe(true);
    expect(caller.captions.filter((c) => c.identity === agent.identity && c.text === CHECK_IN)).toHaveLength(1);

    // The worker said why it ended, and exited cleanly; the LLM was asked only for the answer.
    const [session] = (await stack.sessions()).filter((s) => s.room === room);
    const ended = await waitFor('the session ended', async () => {
      const s = await stack.session(session!.id);
      return s?.status === 'ended' && s;
    }, 20_000);
    expect(ended.workerReason).toBe('user_away');
    const [task] = await waitFor('the worker to exit', async () => {
      const tasks = await stack.tasks(room);
      return tasks.every((t) => t.state === 'exited') && tasks;
    }, 30_000);
    expect(task).toMatchObject({ exitCode: 0 });
    // (A speculative request dropped for a lagging hypothesis may come with the answer's; none comes after it.)
    const chats = stack.fakes.openai.requests.filter((r) => r.route === 'chat');
    expect(chats.length).toBeGreaterThanOrEqual(1);
    expect(chats.filter((r) => r.receivedAtMs > answeredAtEpochMs)).toEqual([]);
  }, 150_000);
});
