// The fake microphone's WAV. Chromium starts playing it when the page opens the microphone and loops it, so it begins
// with silence long enough for the agent to arrive (worker launch, model load, join), then asks a question, waits for
// the answer to start, talks over it (the barge-in), and ends in a long silence so the loop comes round only after
// the test is done with the call.
import { join } from 'node:path';
import { convertWav, speechWav } from '../console-support.ts';

export const LEAD_SILENCE_MS = 12_000;
export const QUESTION = 'What is the weather like today';
/** Spoken this long after the question ends: by then the long answer plays (the fakes answer in well under 1 s). */
export const GAP_BEFORE_BARGE_IN_MS = 4_000;
export const INTERRUPTION = 'Wait, what about tomorrow';
export const TAIL_SILENCE_MS = 60_000;

/** 48 kHz mono 16-bit: what Chromium's fake capture reads without converting. */
export async function conversationWav(dir: string): Promise<string> {
  const raw = await speechWav(dir, 'talk-page-mic', [
    { silenceMs: LEAD_SILENCE_MS },
    { say: QUESTION },
    { silenceMs: GAP_BEFORE_BARGE_IN_MS },
    { say: INTERRUPTION },
    { silenceMs: TAIL_SILENCE_MS },
  ]);
  return convertWav(raw, join(dir, 'talk-page-mic-48k.wav'), 48_000, 1);
}

/** Silence only: for the failure scenarios, where nothing should be heard. */
export async function silentWav(dir: string): Promise<string> {
  const raw = await speechWav(dir, 'talk-page-silence', [{ silenceMs: 2_000 }]);
  return convertWav(raw, join(dir, 'talk-page-silence-48k.wav'), 48_000, 1);
}
