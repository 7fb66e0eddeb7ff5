// The talk page in real Chromium against the whole system (test/support/live-stack.ts): the real livekit-server
// delivering its webhooks to the functions in workerd, the local launcher starting the real `node worker/main.ts`, and
// the fake vendors. The browser's microphone plays an espeak-ng WAV (test/e2e/talk-page/mic-wav.ts): a question,
// then, over the long answer, an interruption. One call, observed in steps; then the failure messages.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closedPort } from '../fakes/kit/server.ts';
import { startFunctions, testBindings, type FunctionsHandle } from '../support/functions.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { startTestLiveKit } from '../support/livekit-server.ts';
import { startUpstashStack } from '../support/redis.ts';
import { REPO_ROOT } from '../support/local-launcher.ts';
import { waitFor } from '../support/wait.ts';
import { makeTempDir, removeDir } from './console-support.ts';
import { inboundAudioEnergy, launchChromium, openTalkPage, readPage, type PageView, type TalkPage } from './talk-page/browser.ts';
import { conversationWav } from './talk-page/mic-wav.ts';

const TRANSCRIPT = 'what is the weather like today';
const INTERRUPTION_TRANSCRIPT = 'wait what about tomorrow';
// Five sentences, about 12 s of the fake TTS's speech: the interruption lands in the second or third.
const LONG_REPLY =
  'Today it is sunny and warm across the whole region. A light breeze comes in from the west this afternoon. ' +
  'Clouds gather late in the evening near the coast. Overnight it turns cool and calm. Tomorrow looks much the same.';
const NEVER_SAID = 'Tomorrow looks much the same.';
const SECOND_REPLY = 'Cooler, with a little rain.';

let dir: string | undefined;
let micWav = '';
let stack: LiveStack | undefined;
let browser: Browser | undefined;
let call: TalkPage | undefined;
const extraFunctions: FunctionsHandle[] = [];
const extraStops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = await makeTempDir('talk-page');
  const mic = await conversationWav(dir);
  micWav = mic;
  stack = await startLiveStack({
    bindings: { TALK_PAGE: 'on', STT_PROVIDERS: 'deepgram', LLM_PROVIDERS: 'openai', TTS_PROVIDERS: 'elevenlabs' },
  });
  stack.fakes.deepgram.script.pushTranscripts(TRANSCRIPT, INTERRUPTION_TRANSCRIPT);
  stack.fakes.openai.script.answer(TRANSCRIPT, LONG_REPLY);
  stack.fakes.openai.script.answer(INTERRUPTION_TRANSCRIPT, SECOND_REPLY);
  // Thinking lasts long enough to be seen, however the server paces attribute updates.
  stack.fakes.openai.setProfile({ ttfbMs: 500 });
  browser = await launchChromium(mic);
}, 120_000);

afterAll(async () => {
  await call?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await Promise.allSettled(extraFunctions.map((f) => f.dispose()));
  await Promise.allSettled(extraStops.map((stop) => stop()));
  await stack?.close();
  await removeDir(dir);
});

function showLogsOnFailure(): void {
  onTestFailed(async () => {
    if (call) console.error('page:', JSON.stringify(await readPage(call.page).catch(() => 'unreadable')), '\nconsole errors:', call.errors);
    console.error('stack logs (tail):\n', stack?.logs().slice(-6_000));
  });
}

/** The agent-state values the page showed, in order (recorded in the page, so a short state is not missed). */
async function statesSeen(t: TalkPage): Promise<string[]> {
  return t.page.evaluate(() => (window as unknown as { __states?: string[] }).__states ?? []);
}

function inOrder(seen: string[], expected: string[]): boolean {
  let next = 0;
  for (const value of seen) if (value === expected[next]) next++;
  return next === expected.length;
}

const agentCaptions = (v: PageView) => v.captions.filter((c) => c.speaker === 'agent');
const userCaptions = (v: PageView) => v.captions.filter((c) => c.speaker === 'user');

describe('the talk page in Chromium, one call', () => {
  it('Talk: the agent arrives, states follow, both sides are captioned, and the agent is heard in the page', async () => {
    showLogsOnFailure();
    // A loaded machine can take well over the default 20 s to start a worker process: this test is not about that.
    call = await openTalkPage(browser!, `${stack!.fn.url}/?agentWaitS=60`);
    await call.page.evaluate(() => {
      const states: string[] = [];
      (window as unknown as { __states: string[] }).__states = states;
      const el = document.getElementById('agent-state')!;
      new MutationObserver(() => states.push(el.dataset['state'] ?? '')).observe(el, { attributes: true, attributeFilter: ['data-state'] });
    });
    expect((await readPage(call.page)).connection).toBe('idle');
    const clickedAt = Date.now();
    await call.page.getByRole('button', { name: 'Talk' }).click();

    await waitFor('connected', async () => (await readPage(call!.page)).connection === 'connected', 20_000);
    await waitFor('the agent listening', async () => (await readPage(call!.page)).agentState === 'listening', 30_000);
    const arrivedAfterMs = Date.now() - clickedAt;
    // The microphone file's lead silence covers the agent's arrival; later, it would miss the question.
    expect(arrivedAfterMs, 'the agent arrived after the WAV had already asked').toBeLessThan(11_000);

    const heard = await waitFor('the caller\'s words and the answer as captions', async () => {
      const v = await readPage(call!.page);
      const user = userCaptions(v).find((c) => c.final && c.text === TRANSCRIPT);
      const agent = agentCaptions(v)[0];
      return user && agent ? v : undefined;
    }, 30_000);
    expect(agentCaptions(heard)[0]!.text).toBe('Today it is sunny and warm across the whole region.');
    await waitFor('the agent audible in the page (analyser on the remote track)', async () => (await readPage(call!.page)).heardMs >= 1_000, 15_000);
    expect(await inboundAudioEnergy(call.page)).toBeGreaterThan(0);
    expect(inOrder(await statesSeen(call), ['listening', 'thinking', 'speaking'])).toBe(true);
  }, 90_000);

  it('barge-in: talking over the answer stops the agent, and the captions keep only what was said', async () => {
    showLogsOnFailure();
    const page = call!.page;
    const after = await waitFor('the interruption captioned and answered', async () => {
      const v = await readPage(page);
      const interrupted = userCaptions(v).some((c) => c.final && c.text === INTERRUPTION_TRANSCRIPT);
      return interrupted && agentCaptions(v).some((c) => c.text === SECOND_REPLY) ? v : undefined;
    }, 40_000);
    // Turn 1's captions: one per sentence, corrected after the cut to what was heard.
    await waitFor('the first answer\'s captions settled', async () => !agentCaptions(await readPage(page)).some((c) => c.text === NEVER_SAID), 5_000);
    const v = await readPage(page);
    // Segments are numbered per answer asked for, a dropped speculative one included: turn 1's is the first captioned.
    const firstSegment = agentCaptions(v)[0]!.segment.replace(/-\d+$/, '-');
    const firstAnswer = agentCaptions(v)
      .filter((c) => c.segment.startsWith(firstSegment))
      .map((c) => c.text)
      .join(' ');
    expect(firstAnswer.length).toBeGreaterThan(0);
    expect(LONG_REPLY.startsWith(firstAnswer)).toBe(true);
    expect(firstAnswer.length).toBeLessThan(LONG_REPLY.length);
    expect(v.captions.map((c) => c.text).join(' ')).not.toContain(NEVER_SAID);
    expect(after.captions.at(-1)?.text).toBe(SECOND_REPLY);
    await waitFor('listening after the second answer', async () => (await readPage(page)).agentState === 'listening', 15_000);
    expect(inOrder(await statesSeen(call!), ['speaking', 'listening', 'thinking', 'speaking', 'listening'])).toBe(true);
  }, 60_000);

  it('shows the last turn\'s response delay and providers; a screenshot mid-conversation goes to docs/', async () => {
    showLogsOnFailure();
    const page = call!.page;
    const v = await waitFor('turn 2\'s figures', async () => {
      const view = await readPage(page);
      return view.turn === '2' ? view : undefined;
    }, 20_000);
    expect(v.delay).toMatch(/^\d+ ms$/);
    expect(v.providers).toEqual(['deepgram', 'openai', 'elevenlabs']);
    await mkdir(join(REPO_ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'docs', 'talk-page.png'), fullPage: true });
  }, 30_000);

  it('hang up: the call ends, the worker leaves, the session ends, and the page logged no error', async () => {
    showLogsOnFailure();
    const page = call!.page;
    const room = (await readPage(page)).room;
    expect(room).toMatch(/^talk-/);
    // Listed while live: looked up before the call ends.
    const session = (await stack!.sessions()).find((s) => s.room === room);
    expect(session, `a session for ${room}`).toBeDefined();
    await page.keyboard.press('Tab'); // keyboard reachable: the hang-up button has focus after Talk
    await page.getByRole('button', { name: 'Hang up' }).press('Enter');
    await waitFor('disconnected', async () => (await readPage(page)).connection === 'disconnected', 10_000);
    const v = await readPage(page);
    expect(v.message).toBeNull();
    expect(v.agentState).toBe('absent');
    await waitFor('the worker task exited', async () => {
      const tasks = await stack!.tasks(room);
      return tasks.length > 0 && tasks.every((t) => t.state === 'exited');
    }, 30_000);
    await waitFor('the session ended', async () => (await stack!.session(session!.id))?.status === 'ended', 15_000);
    expect(call!.errors).toEqual([]);
    await call!.close();
    call = undefined;
  }, 60_000);
});

describe('the talk page\'s failure messages', () => {
  async function clickTalk(fn: FunctionsHandle): Promise<TalkPage> {
    const t = await openTalkPage(browser!, `${fn.url}/`);
    await t.page.getByRole('button', { name: 'Talk' }).click();
    return t;
  }

  async function messageOf(t: TalkPage): Promise<string> {
    return waitFor('a failure message', async () => (await readPage(t.page)).message ?? undefined, 20_000);
  }

  it('LiveKit refuses the token (the functions sign with the wrong secret)', async () => {
    showLogsOnFailure();
    const fn = await startFunctions(testBindings({
      TALK_PAGE: 'on',
      UPSTASH_REDIS_REST_URL: stack!.stack.restUrl,
      UPSTASH_REDIS_REST_TOKEN: stack!.stack.token,
      LIVEKIT_URL: stack!.livekit.url,
      LIVEKIT_API_SECRET: 'not-the-secret-livekit-knows',
    }));
    extraFunctions.push(fn);
    const t = await clickTalk(fn);
    try {
      expect(await messageOf(t)).toContain('The LiveKit server refused the call\'s token');
      const v = await readPage(t.page);
      expect(v.connection).toBe('failed');
      expect(await t.page.getByRole('button', { name: 'Talk' }).isEnabled()).toBe(true);
    } finally {
      await t.close();
    }
  }, 45_000);

  it('LiveKit is down, then the token route refuses (rate limit): each says so', async () => {
    showLogsOnFailure();
    const down = `ws://127.0.0.1:${await closedPort()}`;
    // Its own Redis: the rate-limit counters of the other calls (same client IP for them all) stay out of this count.
    const redis = await startUpstashStack();
    extraStops.push(() => redis.stop());
    const fn = await startFunctions(testBindings({
      TALK_PAGE: 'on',
      UPSTASH_REDIS_REST_URL: redis.restUrl,
      UPSTASH_REDIS_REST_TOKEN: redis.token,
      LIVEKIT_URL: down,
      RATE_LIMIT_PER_IP_PER_MINUTE: '1',
    }));
    extraFunctions.push(fn);
    const t = await clickTalk(fn);
    try {
      const unreachable = await messageOf(t);
      expect(unreachable).toContain('Could not reach the LiveKit server');
      expect(unreachable).toContain(down);
      await t.page.getByRole('button', { name: 'Talk' }).click();
      await waitFor('the rate-limit message', async () => (await readPage(t.page)).message?.includes('Too many calls') === true, 20_000);
    } finally {
      await t.close();
    }
  }, 45_000);

  it('no agent arrives (a LiveKit server whose webhooks go nowhere): the page says so after its wait', async () => {
    showLogsOnFailure();
    const lonely = await startTestLiveKit();
    extraStops.push(() => lonely.stop());
    const fn = await startFunctions(testBindings({
      TALK_PAGE: 'on',
      UPSTASH_REDIS_REST_URL: stack!.stack.restUrl,
      UPSTASH_REDIS_REST_TOKEN: stack!.stack.token,
      LIVEKIT_URL: lonely.url,
    }));
    extraFunctions.push(fn);
    const t = await openTalkPage(browser!, `${fn.url}/?agentWaitS=2`);
    try {
      await t.page.getByRole('button', { name: 'Talk' }).click();
      expect(await messageOf(t)).toContain('The agent did not arrive within 2 s');
      expect((await readPage(t.page)).connection).toBe('failed');
    } finally {
      await t.close();
    }
  }, 45_000);

  it('the browser refuses the microphone: the page says how to allow it', async () => {
    showLogsOnFailure();
    // A context without the microphone permission, in a Chromium that does not accept prompts by itself.
    const strict = await launchChromium(micWav, { acceptPrompts: false });
    try {
      const context = await strict.newContext({ viewport: { width: 412, height: 915 } });
      const page = await context.newPage();
      await page.goto(`${stack!.fn.url}/`);
      await page.getByRole('button', { name: 'Talk' }).click();
      const message = await waitFor('a failure message', async () => (await readPage(page)).message ?? undefined, 20_000);
      expect(message).toContain('did not allow the microphone');
      expect(await page.getByRole('button', { name: 'Talk' }).isEnabled()).toBe(true);
    } finally {
      await strict.close();
    }
  }, 45_000);

  it('a page on another origin cannot mint a token', async () => {
    const t = await openTalkPage(browser!, `${stack!.fn.url}/`);
    try {
      // about:blank-like foreign origin: the functions' own URL under a different host name is another origin.
      const foreign = stack!.fn.url.replace('127.0.0.1', 'localhost');
      await t.page.goto(`${foreign}/`);
      const outcome = await t.page.evaluate(async (target) => {
        try {
          const res = await fetch(`${target}/v1/page/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
          return `status ${res.status}`;
        } catch (e) {
          return `blocked: ${(e as Error).name}`;
        }
      }, stack!.fn.url);
      expect(outcome).toBe('blocked: TypeError');
      // Without CORS the browser shows nothing, but the server refused too: same origin mints, the foreign one got 403.
      const res = await fetch(`${stack!.fn.url}/v1/page/token`, { method: 'POST', headers: { origin: foreign, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(403);
    } finally {
      await t.close();
    }
  }, 30_000);
});
