// The agent's `voice.turn` attribute (worker/transport/types.ts `TurnMetrics`), read defensively: it comes over the
// network, so anything malformed is ignored rather than shown.
import type { TurnMetrics } from '../../worker/transport/types.ts';

export type { TurnMetrics };
export const TURN_METRICS_ATTRIBUTE = 'voice.turn';

const optionalMs = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0);
const optionalName = (v: unknown) => v === undefined || typeof v === 'string';

export function parseTurnMetrics(raw: string | undefined): TurnMetrics | undefined {
  if (!raw) return undefined;
  let m: Partial<TurnMetrics>;
  try {
    m = JSON.parse(raw) as Partial<TurnMetrics>;
  } catch {
    return undefined;
  }
  const p = m.providers;
  const valid =
    typeof m.turn === 'number' &&
    typeof m.failovers === 'number' &&
    typeof m.interrupted === 'boolean' &&
    [m.responseDelayMs, m.endOfUtteranceDelayMs, m.llmTtftMs, m.ttsTtfbMs].every(optionalMs) &&
    typeof p === 'object' && p !== null &&
    [p.stt, p.llm, p.tts].every(optionalName);
  return valid ? (m as TurnMetrics) : undefined;
}
