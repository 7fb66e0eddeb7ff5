// The fixed vendor delays every contender of the peers bench meets (no jitter: the same delay on every request), and
// how they map onto the fakes' latency profiles (test/fakes/kit/profile.ts). The figures are the ones issue 10 gives as
// public measurements of the real vendors: Deepgram streaming final ≈ 250 ms after speech ends, an LLM's first token
// ≈ 420 ms then ≈ 80 tokens/s, TTS first byte ≈ 260 ms.
import type { Fakes } from '../../e2e/console-support.ts';
import type { LatencyProfile } from '../../fakes/kit/profile.ts';

/**
 * Deepgram: the fake delays EVERY message of a connection by ttfbMs, and emits a final when its own rules say so: after
 * `endpointing` ms of silence in the audio (the client picks the value: ours 300, LiveKit's plugin 25, Pipecat's plugin
 * Deepgram's server default 10) or at once on a Finalize. So the fake cannot express "final 250 ms after the end of
 * speech" for every client: it expresses "250 ms after Deepgram would decide", i.e. final = min(speech end + the
 * client's endpointing, Finalize) + 250 ms. Each contender's own choice of endpointing/Finalize stays part of its result.
 */
export const PEER_PROFILES = {
  deepgram: { ttfbMs: 250, ttfbJitterMs: 0, tokensPerSecond: 1000, audioRealtimeFactor: 1, chunkMs: 20 },
  // LLM: headers at once, first token 420 ms later, then 80 pieces a second (the fake streams word-ish pieces).
  openai: { ttfbMs: 420, ttfbJitterMs: 0, tokensPerSecond: 80, audioRealtimeFactor: 50, chunkMs: 20 },
  // TTS: first audio 260 ms after the request (HTTP stream) or after a generation is triggered (WebSockets), then
  // 20 ms chunks at twice real time.
  elevenlabs: { ttfbMs: 260, ttfbJitterMs: 0, tokensPerSecond: 1000, audioRealtimeFactor: 2, chunkMs: 20 },
} satisfies Record<string, LatencyProfile>;

export type PeerProfiles = typeof PEER_PROFILES;

/**
 * Issue 11's fixed delays (STT final 150 ms, LLM first token 250 ms, TTS first byte 120 ms; its endpointing 300 ms is
 * the Deepgram endpointing ours sends by default, and each peer keeps its own choice, as with issue 10's set).
 */
export const ISSUE11_PROFILES: PeerProfiles = {
  deepgram: { ...PEER_PROFILES.deepgram, ttfbMs: 150 },
  openai: { ...PEER_PROFILES.openai, ttfbMs: 250 },
  elevenlabs: { ...PEER_PROFILES.elevenlabs, ttfbMs: 120 },
};

export const DELAY_SETS = { issue10: PEER_PROFILES, issue11: ISSUE11_PROFILES } as const;
export type DelaySet = keyof typeof DELAY_SETS;

/**
 * Every LLM request gets this same answer, however many requests a contender makes per question (preemptive
 * generations, a question split into several transcripts): the fake's default answer repeats the transcript, and a
 * longer first sentence would delay the first audio for reasons that have nothing to do with the contender.
 */
export const PEER_REPLY = 'Sure, I can help with that. Let me think about it.';
const REPLIES_QUEUED = 500;

/**
 * The same delays, queues and counters for everyone. The secondaries of the fault runs: Groq answers like the primary
 * LLM; OpenAI's speech and transcription share the OpenAI fake, and so its profile (the LLM's).
 */
export function applyPeerProfiles(fakes: Fakes, profiles: PeerProfiles = PEER_PROFILES): void {
  fakes.reset();
  const replies = Array.from({ length: REPLIES_QUEUED }, () => PEER_REPLY);
  fakes.openai.script.pushReplies(...replies);
  fakes.groq.script.pushReplies(...replies);
  fakes.deepgram.setProfile(profiles.deepgram);
  fakes.openai.setProfile(profiles.openai);
  fakes.groq.setProfile(profiles.openai);
  fakes.elevenlabs.setProfile(profiles.elevenlabs);
}
