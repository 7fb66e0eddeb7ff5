// Provider health in Redis: one hash per provider, `health:<modality>:<provider>`, written only by one Lua script
// (atomic, so batches from many workers never lose counts) and read for all providers in one round trip.
import { toFieldMap } from '../redis/hash.ts';
import type { Redis } from '@upstash/redis';
import { ERROR_CLASSES, PROVIDER_IDS, isProviderOf } from '../contract.ts';
import type { ErrorClass, Modality, ProviderId, ProviderOutcome } from '../contract.ts';
import { circuitAt } from './policy.ts';
import type { HealthPolicy } from './policy.ts';
import { RECORD_OUTCOMES_LUA } from './record-script.ts';
import type { LatencyBucket, ProviderHealth } from './types.ts';

/** What these functions need from a client; both '@upstash/redis' and '@upstash/redis/cloudflare' satisfy it. */
export type HealthRedis = Pick<Redis, 'createScript' | 'pipeline' | 'del'>;

export function healthKey(modality: Modality, provider: string): string {
  return `health:${modality}:${provider}`;
}

export interface RecordResult {
  applied: number;
  /** Outcomes naming a provider unknown for their modality: not stored, so junk cannot create keys. */
  skipped: number;
}

type RecordScript = ReturnType<HealthRedis['createScript']>;
// createScript hashes the script once; keep one per client so every batch can go straight to EVALSHA.
const scripts = new WeakMap<HealthRedis, RecordScript>();

/**
 * Folds a batch into provider health with ONE script call (one subrequest), in the batch's order: consecutive
 * failures and circuit transitions depend on it. Times of errors and circuit changes are `nowMs`, the control
 * plane's clock, so they compare cleanly with the cool-down whatever the workers' clocks say.
 */
export async function recordOutcomes(
  redis: HealthRedis,
  outcomes: readonly ProviderOutcome[],
  nowMs: number,
  policy: HealthPolicy,
  /** Who reports (the worker's session id): a circuit then opens only on failures from two reporters or more. */
  reporter = '',
): Promise<RecordResult> {
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  const perOutcome: string[] = [];
  let skipped = 0;
  for (const o of outcomes) {
    if (!isProviderOf(o.modality, o.provider)) {
      skipped++;
      continue;
    }
    const key = healthKey(o.modality, o.provider);
    let index = keyIndex.get(key);
    if (index === undefined) {
      index = keys.push(key); // Lua's KEYS is 1-based: the new length is the index.
      keyIndex.set(key, index);
    }
    perOutcome.push(
      String(index),
      o.ok ? '1' : '0',
      o.ok ? '' : (o.errorClass ?? 'transient'),
      o.ttfbMs === undefined ? '' : String(o.ttfbMs),
    );
  }
  if (keys.length === 0) return { applied: 0, skipped };

  const args = [
    String(nowMs),
    String(policy.ewmaAlpha),
    String(policy.openAfterConsecutiveFailures),
    String(policy.openAboveErrorRate),
    String(policy.minSamplesForErrorRate),
    String(policy.coolDownMs),
    String(Math.max(1, Math.round(policy.keyTtlMs))),
    String(policy.latencyBucketsMs.length),
    ...policy.latencyBucketsMs.map(String),
    reporter,
    ...perOutcome,
  ];
  let script = scripts.get(redis);
  if (!script) {
    script = redis.createScript(RECORD_OUTCOMES_LUA);
    scripts.set(redis, script);
  }
  const applied = Number(await script.exec(keys, args));
  return { applied, skipped };
}

/** Health of every known provider in one pipelined round trip; providers never seen read as fresh and closed. */
export async function readHealth(redis: HealthRedis, nowMs: number, policy: HealthPolicy): Promise<ProviderHealth[]> {
  const pipeline = redis.pipeline();
  for (const id of PROVIDER_IDS) pipeline.hgetall(keyOf(id));
  const rows = await pipeline.exec<unknown[]>();
  return PROVIDER_IDS.map((id, i) => toHealth(id, toFieldMap(rows[i]), nowMs, policy));
}

/** Forgets everything about one provider (an operator's fresh start after fixing it). */
export async function resetHealth(redis: HealthRedis, id: ProviderId): Promise<void> {
  await redis.del(keyOf(id));
}

function keyOf(id: ProviderId): string {
  const [modality, provider] = splitId(id);
  return healthKey(modality, provider);
}

function splitId(id: ProviderId): [Modality, string] {
  const at = id.indexOf(':');
  return [id.slice(0, at) as Modality, id.slice(at + 1)];
}

function toHealth(
  id: ProviderId,
  row: Record<string, unknown> | null,
  nowMs: number,
  policy: HealthPolicy,
): ProviderHealth {
  const [modality, provider] = splitId(id);
  const field = (name: string) => row?.[name];
  const stored = field('circuit') === 'open' ? 'open' : 'closed';
  const openedAtMs = numberOrNull(field('circuitOpenedAtMs'));
  const lastErrorClass = field('lastErrorClass');
  const latencyCount = numberOr(field('lat:count'), 0);
  return {
    id,
    modality,
    provider,
    successes: numberOr(field('successes'), 0),
    failures: numberOr(field('failures'), 0),
    latencyEwmaMs: numberOrNull(field('latencyEwmaMs')),
    latencyDeviationMs: numberOrNull(field('latencyDevMs')),
    errorRate: numberOr(field('errorRate'), 0),
    lastErrorClass: isErrorClass(lastErrorClass) ? lastErrorClass : null,
    lastErrorAtMs: numberOrNull(field('lastErrorAtMs')),
    consecutiveFailures: numberOr(field('consecutiveFailures'), 0),
    circuit: circuitAt(stored, openedAtMs, nowMs, policy),
    circuitOpenedAtMs: stored === 'open' ? openedAtMs : null,
    updatedAtMs: numberOrNull(field('updatedAtMs')),
    latency: {
      buckets: cumulativeBuckets(field, policy.latencyBucketsMs, latencyCount),
      count: latencyCount,
      sumMs: numberOr(field('lat:sumMs'), 0),
    },
  };
}

/** Redis keeps one count per bucket; Prometheus wants each bucket to include the ones below it. */
function cumulativeBuckets(field: (name: string) => unknown, boundsMs: readonly number[], total: number): LatencyBucket[] {
  let running = 0;
  const buckets = boundsMs.map((leMs) => {
    running += numberOr(field(`lat:le:${String(leMs)}`), 0);
    return { leMs, count: running };
  });
  buckets.push({ leMs: Number.POSITIVE_INFINITY, count: total });
  return buckets;
}

// The client hands back integers as numbers but floats as strings (it only JSON-parses safe integers).
function numberOrNull(value: unknown): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function numberOr(value: unknown, fallback: number): number {
  return numberOrNull(value) ?? fallback;
}

function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === 'string' && (ERROR_CLASSES as readonly string[]).includes(value);
}
