// What the worker's VAD hears in a test's recorded speech. Silero is less sure of espeak-ng's voice than of a person's:
// on some sentences its probability dips below the silence mark for up to 180 ms inside a word, and more after Opus.
// To the worker such a dip is the caller pausing (rightly: it cannot tell), so a test that means "the caller spoke
// without a pause" checks that its recordings hold none, at every alignment of the VAD's 32 ms windows to the audio.
import { SileroActivity } from '../../worker/agent/silero-activity.ts';
import { resample } from '../../worker/audio/resample.ts';

const RATE = 16_000;
const FRAME_SAMPLES = 320; // 20 ms, as the worker's LiveKit transport delivers them
const WINDOW_SAMPLES = 512;
const ALIGNMENT_STEP_SAMPLES = 32;
/** The last stretch of the sound is the end of the sentence, where the VAD's silence is the real one. */
const SENTENCE_END_MS = 300;

/**
 * The longest silence the VAD hears between the start of `pcm48k`'s speech and the last `SENTENCE_END_MS` of its
 * sound, over every alignment of its windows (the room decides where they fall), in ms.
 */
export async function longestVadPauseMs(pcm48k: Int16Array): Promise<number> {
  const speech = resample(pcm48k, 48_000, RATE);
  let longest = 0;
  for (let shift = 0; shift < WINDOW_SAMPLES; shift += ALIGNMENT_STEP_SAMPLES) {
    const lead = RATE / 2 + shift;
    const audio = new Int16Array(lead + speech.length + RATE / 2);
    audio.set(speech, lead);
    const judgedUntilMs = ((lead + speech.length) * 1000) / RATE - SENTENCE_END_MS;
    const vad = await SileroActivity.create({});
    try {
      let speaking = false;
      for (let at = 0; at + FRAME_SAMPLES <= audio.length; at += FRAME_SAMPLES) {
        const events = await vad.push(audio.subarray(at, at + FRAME_SAMPLES));
        speaking ||= events.some((e) => e.type === 'speech_start');
        if (speaking && ((at + FRAME_SAMPLES) * 1000) / RATE < judgedUntilMs) longest = Math.max(longest, vad.trailingSilenceMs);
      }
    } finally {
      await vad.dispose();
    }
  }
  return longest;
}
