// Figures, not a test: the response delay over WebRTC, for the same conversation the console scenario has (the same
// espeak questions, the same 'realistic' fakes with the same scripted transcripts and replies, the same 6 s after each
// question). A caller (rtc-node) in a real room speaks each question and times the first loud audio it receives from
// the agent, from the end of the question's sound — the definition the console scenario uses on its waveforms — so the
// two sets differ by what WebRTC adds: Opus both ways, the server's forwarding, jitter buffers and frame pacing.
import { join } from 'node:path';
import { readWavFile } from '../../worker/audio/wav-read.ts';
import { convertWav, speechWav } from '../e2e/console-support.ts';
import { Caller, MIC_RATE } from '../support/caller.ts';
import { startLiveStack } from '../support/live-stack.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { arrange, LEAD_MS, QUESTIONS, SCENARIOS } from './console-scenarios.ts';

export interface WebRtcTurn {
  question: number;
  /** End of the question's sound (as sent) → first loud agent audio received; undefined when none came. */
  responseMs: number | undefined;
}

async function question(dir: string, i: number): Promise<Int16Array> {
  const wav = await convertWav(await speechWav(dir, `webrtc-q${i}`, [{ say: QUESTIONS[i]! }]), join(dir, `webrtc-q${i}-48k.wav`), MIC_RATE, 1);
  return (await readWavFile(wav)).pcm;
}

/** The conversation over WebRTC on a fresh live stack (closed at the end); one measure per question. */
export async function runWebRtcConversation(dir: string): Promise<WebRtcTurn[]> {
  const questions = await Promise.all(QUESTIONS.map((_, i) => question(dir, i)));
  const stack = await startLiveStack({ bindings: { STT_PROVIDERS: 'deepgram', LLM_PROVIDERS: 'openai', TTS_PROVIDERS: 'elevenlabs' }, quietFunctions: true });
  const caller = new Caller('bench-webrtc-caller');
  try {
    arrange(stack.fakes, SCENARIOS.baseline);
    const room = `bench-webrtc-${Date.now()}`;
    const { token, url } = await stack.token(room, caller.identity);
    await caller.join(url, token);
    await caller.agent(60_000);
    await waitFor('the agent listening to the caller', () => caller.heardByAgent && caller.agentState() === 'listening', 30_000);
    // The console's input starts with this much silence too.
    await sleep(LEAD_MS);
    const turns: WebRtcTurn[] = [];
    for (const [i, q] of questions.entries()) {
      const soundEndAt = await caller.say(q);
      const sentAt = performance.now();
      const heardAt = await waitFor('the answer', () => caller.firstLoudAfter(soundEndAt), 15_000).catch(() => undefined);
      turns.push({ question: i, responseMs: heardAt === undefined ? undefined : heardAt - soundEndAt });
      // Paced like the console's input: the next clip starts the scenario's gap after this one's last sample.
      const nextAt = sentAt + SCENARIOS.baseline.gapMs;
      if (nextAt > performance.now()) await sleep(nextAt - performance.now());
    }
    return turns;
  } finally {
    await caller.leave();
    await stack.close();
  }
}
