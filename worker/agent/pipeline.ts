// The worker's stages, in order: read this first. Caller audio flows down the list, the agent's audio comes out at
// the bottom; interruptions travel back up as events (a barge-in cancels the reply's AbortSignal, which every stage
// below reply scheduling honours the same way). `Conversation` (conversation.ts) wires exactly these modules.
//
//   transport input ─┬─► VAD ──────────┐
//                    └─► STT chain ────┴─► turn detection ─► reply scheduling ─► LLM chain ─► text chunker ─► TTS chain ─► transport output
//
// The STT hears the transport's frames directly, the VAD beside it; the turn detector joins the two (the VAD says
// when speech starts and that silence is silence, the audio says where the speech ended, the STT's endpointing may
// end a turn early) and emits started / stopped / end-of-STT-speech / end-of-turn / interrupt events.

export interface Stage {
  name: string;
  /** Path from worker/, of the module that is this stage. */
  module: string;
  does: string;
}

export const PIPELINE: readonly Stage[] = [
  { name: 'transport input', module: 'transport/types.ts', does: 'caller audio, 16-bit mono frames of 10-20 ms, on the transport clock (LiveKit room or WAV file)' },
  { name: 'VAD', module: 'agent/silero-activity.ts', does: 'Silero speech probabilities through hysteresis: speech start and end, trailing silence' },
  { name: 'STT chain', module: 'fallback/stt-chain.ts', does: 'streams the utterance (pre-roll + every frame after) to the first healthy provider, replays it on failover' },
  { name: 'turn detection', module: 'agent/turn-detector.ts', does: 'utterances from VAD + audio + STT endpointing; end of turn; barge-in' },
  { name: 'transcript', module: 'agent/utterance-transcript.ts', does: 'the words of an utterance, settled as soon as the STT finalised them; late words flagged' },
  { name: 'preemption', module: 'agent/preemption.ts', does: 'asks for the answer when the caller falls silent; used if the turn ends with the same words, else dropped unheard' },
  { name: 'false interruptions', module: 'agent/false-interruption.ts', does: 'a barge-in pauses the agent; the STT\'s first word cuts it, none lets it play on from where it stopped' },
  { name: 'reply scheduling', module: 'agent/reply-scheduler.ts', does: 'one reply at a time (answers and fixed lines), cancellable, written to history as heard' },
  { name: 'LLM chain', module: 'fallback/llm-chain.ts', does: 'streams the answer from the first healthy model, hedges a slow one, continues on failover' },
  { name: 'text chunker', module: 'agent/sentence-chunker.ts', does: 'tokens to speakable chunks (a short first clause, then sentences)' },
  { name: 'speak path', module: 'agent/answer.ts', does: 'chunks to TTS a little ahead of playout, resampled, captioned, heard-text timeline' },
  { name: 'TTS chain', module: 'fallback/tts-chain.ts', does: 'synthesises each chunk with the first healthy voice, continues mid-sentence on failover' },
  { name: 'transport output', module: 'transport/types.ts', does: 'the agent audio sink: queued, paced in real time, cleared on barge-in' },
];
