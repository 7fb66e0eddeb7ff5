// Preemptive generation in a real room, the worker as it ships (the other room tests turn it off to queue replies):
// the LLM is asked when the caller falls silent, on the STT's newest hypothesis, and again as the words change. The
// fake OpenAI, given no script, echoes the words it was asked about, so a stale answer would say so. Each question is
// answered once, to its final words, only after the caller stopped; what was asked on other words is never heard, and
// the history holds the two turns and nothing else.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { HistoryMessage } from '../../functions/contract.ts';
import { defaultReply } from '../fakes/kit/script.ts';
import { Caller } from '../support/caller.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { longestVadPauseMs } from '../support/vad-pauses.ts';
import { waitFor } from '../support/wait.ts';
import { makeTempDir, removeDir, spokenPcm48k } from './console-support.ts';

// Sentences Silero hears as one stretch of speech in espeak's voice (checked below): others dip below its silence mark
// inside a word ("about cats" for up to 180 ms), which the worker rightly takes for the caller pausing.
const QUESTIONS = ['How far away is the moon', 'Tell me about your day'];
/** As Deepgram's smart_format writes them (the worker asks for it). */
const TRANSCRIPTS = ['How far away is the moon?', 'Tell me about your day.'];
/** A pause this long is one the worker may flush the STT in (STT_FLUSH_SILENCE_MS); none is meant here. */
const MEANT_NO_PAUSE_MS = 100;
const spaced = (text: string) => text.replace(/\s+/g, ' ').trim();

interface ChatBody {
  messages: { role: string; content: string }[];
}

describe('preemptive generation in a real room', () => {
  let stack: LiveStack;
  let dir: string;
  let caller: Caller | undefined;

  beforeAll(async () => {
    stack = await startLiveStack({ workerEnv: { PREEMPTIVE_GENERATION: 'on' } });
    dir = await makeTempDir('livekit-preempt');
  });
  afterAll(async () => {
    await caller?.leave();
    await stack?.close();
    await removeDir(dir);
  });

  it('answers each question once, to its final words, after the caller stopped; what it asked on other words is never heard', async () => {
    onTestFailed(() => {
      console.error(`launcher and worker logs (tail):\n${stack.logs().slice(-15_000)}`);
      console.error(`gaps this process's stalls put into the caller's speech: ${JSON.stringify(caller?.speechGaps ?? [])}`);
    });
    stack.fakes.deepgram.script.pushTranscripts(...TRANSCRIPTS);
    const questions = await Promise.all(QUESTIONS.map((q, i) => spokenPcm48k(dir, `q${i}`, q)));
    for (const [i, pcm] of questions.entries()) {
      expect(await longestVadPauseMs(pcm), `the VAD hears a pause inside "${QUESTIONS[i]}"`).toBeLessThan(MEANT_NO_PAUSE_MS);
    }
    const room = `preempt-${randomUUID()}`;
    const { token, url } = await stack.token(room, 'caller-preempt');
    caller = new Caller('caller-preempt');
    await caller.join(url, token);
    const agent = await caller.agent(40_000);
    await waitFor('the agent listening to the caller', () => caller!.heardByAgent && caller!.agentState() === 'listening', 15_000);

    for (const [i, pcm] of questions.entries()) {
      const startedAt = performance.now();
      const endedAt = await caller.say(pcm);
      // Nothing of the agent while the question was being asked (up to the end of its sound: an answer inside the
      // silence espeak puts after it is a quick one, not one that talked over the caller); then its answer.
      await waitFor(`answer ${i + 1} as sound`, () => caller!.loudMsSince(endedAt) >= 300, 20_000);
      expect(caller.firstLoudAfter(startedAt)!).toBeGreaterThanOrEqual(endedAt);
      await waitFor(`answer ${i + 1} played out`, () => {
        const last = caller!.lastLoudAt();
        return last !== undefined && performance.now() - last > 800;
      }, 15_000);
    }

    // What the caller was told: the two echoes, in order, and nothing else (no answer to half a question).
    const told = caller.captions.filter((c) => c.identity === agent.identity).map((c) => c.text);
    expect(spaced(told.join(' '))).toBe(spaced(TRANSCRIPTS.map(defaultReply).join(' ')));
    const [session] = (await stack.sessions()).filter((s) => s.room === room);
    const history = await waitFor('the history stored', async () => {
      const raw = await stack.redis.lrange(`session:${session!.id}:history`, 0, -1);
      return raw.length >= 4 && raw.map((m) => JSON.parse(m) as HistoryMessage);
    }, 20_000);
    expect(history.map((m) => [m.role, m.text])).toEqual(TRANSCRIPTS.flatMap((t) => [['user', t], ['assistant', defaultReply(t)]]));

    // Preemption was at work: the LLM was asked before the turn ended (each turn's end as its worker traced it), on
    // whatever words the STT had when the caller fell silent, and the final words were answered in the end.
    const [task] = await stack.tasks(room);
    const turnEnds = stack.logs().split('\n')
      .filter((l) => l.startsWith(`[${task!.taskId}] `) && l.includes('"turn_trace"'))
      .map((l) => (JSON.parse(l.slice(l.indexOf(' ') + 1)) as { turnEndAt: number }).turnEndAt);
    expect(turnEnds).toHaveLength(TRANSCRIPTS.length);
    const chats = stack.fakes.openai.requests.filter((r) => r.route === 'chat');
    const askedAbout = (r: (typeof chats)[number]) => (JSON.parse(r.bodyText!) as ChatBody).messages.at(-1)!.content;
    expect(chats.filter((r) => r.receivedAtMs < turnEnds[0]!).length).toBeGreaterThanOrEqual(1);
    for (const transcript of TRANSCRIPTS) expect(chats.some((r) => askedAbout(r) === transcript)).toBe(true);
    const others = chats.filter((r) => !TRANSCRIPTS.includes(askedAbout(r))).length;
    console.log(`LLM requests: ${chats.length} for ${TRANSCRIPTS.length} turns, ${others} on words the turn did not end with (dropped unheard)`);
  }, 150_000);
});
