// What Deepgram's live messages mean for one utterance on a socket that may have carried others before it: which
// are about earlier audio, which hold words a flush asked for, and the engine's events they become.
import type { SttEvent } from '../types.ts';
import type { ListenMessage } from './deepgram-socket.ts';

/** Deepgram prints times in ms precision; this absorbs the rounding. */
export const TIME_EPSILON_S = 0.005;
/** A flush's answer may stop short of the exact sample it was asked at (audio is processed in frames). */
export const FLUSH_EPSILON_S = 0.05;

/** A message about audio sent before this utterance began (the previous one's late UtteranceEnd or flush). */
export function isStale(message: ListenMessage, utteranceStartS: number): boolean {
  switch (message.type) {
    case 'Results':
      return message.start + message.duration <= utteranceStartS + TIME_EPSILON_S && utteranceStartS > 0;
    case 'SpeechStarted':
      return message.timestamp < utteranceStartS - TIME_EPSILON_S;
    case 'UtteranceEnd':
      return message.last_word_end <= utteranceStartS + TIME_EPSILON_S && utteranceStartS > 0;
    default:
      return false;
  }
}

/** The Results hold words said before `atS`: words the Finalize asked there should have brought. */
export function spokeBefore(message: Extract<ListenMessage, { type: 'Results' }>, atS: number): boolean {
  return (message.channel.alternatives[0]?.words ?? []).some((w) => w.end <= atS + FLUSH_EPSILON_S);
}

/** `flushed`: it answers the engine's flush, which wants to hear even an empty one (nothing more was said). */
export function resultEvent(message: Extract<ListenMessage, { type: 'Results' }>, flushed: boolean): SttEvent | undefined {
  const text = message.channel.alternatives[0]?.transcript.trim() ?? '';
  const speechFinal = message.speech_final === true;
  if (flushed) return { type: 'final', text, speechFinal, flushed: true };
  if (!text) return undefined;
  return message.is_final ? { type: 'final', text, speechFinal } : { type: 'interim', text };
}

export function vadEvent(message: ListenMessage): SttEvent | undefined {
  if (message.type === 'SpeechStarted') return { type: 'speech_started' };
  if (message.type === 'UtteranceEnd') return { type: 'utterance_end' };
  return undefined; // Metadata
}
