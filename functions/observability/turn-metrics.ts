// Per-turn timings from workers, folded into Prometheus histograms (cumulative buckets) in the counters hash.
import type { WorkerMetrics } from '../contract.ts';
import type { Deps } from '../deps.ts';
import { keys } from '../redis/keys.ts';
import { describeError, log } from './log.ts';
import { seriesName } from './counters.ts';

export const TURN_BUCKETS_MS = [250, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000];

const TIMINGS = [
  ['endToEndMs', 'turn_end_to_end_ms'],
  ['llmTtftMs', 'turn_llm_ttft_ms'],
  ['ttsTtfbMs', 'turn_tts_ttfb_ms'],
  ['sttFinalLatencyMs', 'turn_stt_final_ms'],
  ['endOfUtteranceDelayMs', 'turn_end_of_utterance_ms'],
] as const;

export function turnIncrements(metrics: WorkerMetrics): Map<string, number> {
  const inc = new Map<string, number>();
  const add = (field: string, by: number) => inc.set(field, (inc.get(field) ?? 0) + by);
  for (const turn of metrics.turns) {
    add(seriesName('turns_total', { interrupted: String(turn.interrupted) }), 1);
    if (turn.failovers > 0) add(seriesName('turn_failovers_total', {}), turn.failovers);
    for (const [field, metric] of TIMINGS) {
      const value = turn[field];
      if (value === undefined) continue;
      for (const le of TURN_BUCKETS_MS) if (value <= le) add(seriesName(`${metric}_bucket`, { le: String(le) }), 1);
      add(seriesName(`${metric}_bucket`, { le: '+Inf' }), 1);
      add(seriesName(`${metric}_sum`, {}), Math.round(value));
      add(seriesName(`${metric}_count`, {}), 1);
    }
  }
  if (metrics.droppedRecords > 0) add(seriesName('worker_dropped_records_total', {}), metrics.droppedRecords);
  return inc;
}

export async function recordTurnMetrics(deps: Pick<Deps, 'redis'>, metrics: WorkerMetrics): Promise<void> {
  const inc = turnIncrements(metrics);
  if (inc.size === 0) return;
  try {
    const p = deps.redis.pipeline();
    for (const [field, by] of inc) p.hincrby(keys.counters(), field, by);
    await p.exec();
  } catch (err) {
    log('warn', 'turn_metrics_lost', { reason: describeError(err) });
  }
}
