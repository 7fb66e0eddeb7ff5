// The console with FUNCTIONS_URL reports like a launched worker: it takes its session from the real functions (in
// workerd, real Redis), and its history and provider outcomes land there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWorker, operatorAuth, postWebhook, startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';
import { consoleEnv, makeTempDir, runConsole, speechWav, startFakes, tearDown, TEST_TIMEOUT_MS, type Fakes } from './console-support.ts';

describe('console: reporting to the control plane', { timeout: TEST_TIMEOUT_MS }, () => {
  let fakes: Fakes;
  let dir: string;
  let cp: ControlPlane;

  beforeAll(async () => {
    fakes = await startFakes();
    dir = await makeTempDir('console-reporting');
    cp = await startControlPlane({ SYSTEM_PROMPT: 'You are the reporting test agent.', GREETING: '' });
  });
  afterAll(async () => {
    await cp?.close();
    await tearDown(fakes, dir);
  });

  it('uses the session from the functions and sends them its history and outcomes', async () => {
    const hook = webhookBody({ event: 'participant_joined', room: { name: 'console-room' }, participant: { identity: 'caller' } });
    const { sessionId } = (await (await postWebhook(cp.fn, hook, await signWebhook(hook))).json()) as { sessionId: string };
    const launched = await waitFor('the launch env', () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
    // The console reports like a launched worker, with the session token a launch's bootstrap credential buys.
    const { workerToken } = await bootstrapWorker(cp.fn, launched.env);
    const input = await speechWav(dir, 'one', [{ silenceMs: 800 }, { say: 'What time is it' }, { silenceMs: 3_000 }]);
    fakes.reset();
    fakes.deepgram.script.pushTranscripts('what time is it');
    fakes.openai.script.pushReplies('It is noon.');
    const run = await runConsole({
      input,
      dir,
      name: 'reporting',
      env: {
        ...consoleEnv(fakes),
        FUNCTIONS_URL: cp.fn.url,
        WORKER_TOKEN: workerToken,
        SESSION_ID: sessionId,
      },
    });
    expect(run.report.turns.map((t) => [t.userText, t.agentText])).toEqual([['what time is it', 'It is noon.']]);
    // The system prompt came from the session.
    const chat = fakes.openai.requests.find((r) => r.route === 'chat');
    expect(chat?.bodyText).toContain('You are the reporting test agent.');

    const session = await cp.fn.fetch('/v1/worker/session', { headers: { authorization: `Bearer ${workerToken}` } });
    const { history } = (await session.json()) as { history: { role: string; text: string }[] };
    expect(history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what time is it'],
      ['assistant', 'It is noon.'],
    ]);
    const providers = await cp.fn.fetch('/v1/providers', { headers: operatorAuth });
    const table = (await providers.json()) as { providers: { id: string; successes: number }[] };
    const successes = Object.fromEntries(table.providers.map((p) => [p.id, p.successes]));
    expect(successes).toMatchObject({ 'stt:deepgram': 1, 'llm:openai': 1, 'tts:elevenlabs': 1 });
  });
});
