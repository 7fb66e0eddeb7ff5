// Latency profiles: how fast a fake vendor answers when nothing is wrong ("slow but healthy" is a profile, not a fault).
import { z } from 'zod';

export type LatencyProfile = {
  /** Time from response headers (or ws open) to the first token/byte/result. */
  ttfbMs: number;
  /** Extra deterministic jitter added to ttfbMs, 0..ttfbJitterMs (varies per request, same sequence every run). */
  ttfbJitterMs?: number;
  /** LLM token (stream chunk) rate. */
  tokensPerSecond: number;
  /** How much faster than real time audio is produced (TTS) or answered (STT): 1 = real time, 50 = 50x faster. */
  audioRealtimeFactor: number;
  /** Duration of audio in one streamed chunk. */
  chunkMs: number;
};

export type ProfileName = 'instant' | 'realistic' | 'slow';

/** Named presets. 'instant' is the default: fast enough for tests, yet still streamed in many chunks. */
export const PROFILES: Record<ProfileName, LatencyProfile> = {
  instant: { ttfbMs: 0, tokensPerSecond: 1000, audioRealtimeFactor: 50, chunkMs: 20 },
  realistic: { ttfbMs: 300, ttfbJitterMs: 500, tokensPerSecond: 40, audioRealtimeFactor: 1.2, chunkMs: 20 },
  slow: { ttfbMs: 2000, ttfbJitterMs: 1000, tokensPerSecond: 8, audioRealtimeFactor: 0.8, chunkMs: 20 },
};

export const DEFAULT_PROFILE: LatencyProfile = PROFILES.instant;

/** Accepted by setProfile() and POST /__fake/profile: a preset name, or `{ preset?, ...overrides }`. */
export type ProfileInput = ProfileName | (Partial<LatencyProfile> & { preset?: ProfileName });

export const profileInputSchema = z.union([
  z.enum(['instant', 'realistic', 'slow']),
  z.object({
    preset: z.enum(['instant', 'realistic', 'slow']).optional(),
    ttfbMs: z.number().nonnegative().optional(),
    ttfbJitterMs: z.number().nonnegative().optional(),
    tokensPerSecond: z.number().positive().optional(),
    audioRealtimeFactor: z.number().positive().optional(),
    chunkMs: z.number().positive().optional(),
  }),
]);

/** A full profile from a preset name or overrides (overrides apply on top of `preset`, else on top of `base`). */
export function resolveProfile(input: ProfileInput, base: LatencyProfile = DEFAULT_PROFILE): LatencyProfile {
  if (typeof input === 'string') return { ...PROFILES[input] };
  const { preset, ...overrides } = input;
  const start = preset ? PROFILES[preset] : base;
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...start, ...defined };
}

/** Time to first token for the n-th request: ttfbMs plus a deterministic jitter (no Math.random: runs repeat). */
export function ttfbFor(profile: LatencyProfile, requestIndex: number): number {
  const jitter = profile.ttfbJitterMs ?? 0;
  if (jitter <= 0) return profile.ttfbMs;
  const unit = ((requestIndex * 2654435761) % 1000) / 1000; // Knuth's multiplicative hash spreads 0..1
  return profile.ttfbMs + Math.round(unit * jitter);
}

/** Pause between two LLM stream chunks. */
export function tokenIntervalMs(profile: LatencyProfile): number {
  return 1000 / profile.tokensPerSecond;
}

/** Pause between two audio chunks of `profile.chunkMs` each. */
export function audioChunkIntervalMs(profile: LatencyProfile): number {
  return profile.chunkMs / profile.audioRealtimeFactor;
}
