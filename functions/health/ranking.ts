// Turns the operator's provider order and the providers' health into the order a worker should try them in.
// Pure: no I/O, no clock unless one is passed, so the same inputs always rank the same way.
import { MODALITIES, isProviderOf } from '../contract.ts';
import type { Modality, ProviderOrder } from '../contract.ts';
import { circuitAt, hasHighErrorRate } from './policy.ts';
import type { HealthPolicy } from './policy.ts';
import type { ProviderHealth } from './types.ts';

/** Best first. A provider lands in the worst tier any of its symptoms earns. */
export const TIERS = ['healthy', 'slow', 'degraded', 'open'] as const;
export type Tier = (typeof TIERS)[number];

export interface RankedProvider {
  provider: string;
  tier: Tier;
  /** Short human explanations, shown at GET /v1/providers. */
  reasons: string[];
}

export interface Ranking {
  order: string[];
  entries: RankedProvider[];
}

/**
 * Ranks one modality's chain. The configured `priority` is the prior and is kept within each tier; unknown names
 * and duplicates are dropped, and known providers missing from `priority` stay out (the operator decides the chain).
 * An open circuit sorts last but stays listed: a last resort beats nothing. Pass `nowMs` to re-derive circuits
 * (an open circuit past its cool-down reads half-open); without it the circuit in `health` is taken as read.
 */
export function rankProviders(
  modality: Modality,
  priority: readonly string[],
  health: readonly ProviderHealth[],
  policy: HealthPolicy,
  nowMs?: number,
): Ranking {
  const peers = health.filter((h) => h.modality === modality);
  const candidates = [...new Set(priority)].filter((name) => isProviderOf(modality, name));

  const entries = candidates.map((provider) => {
    const own = peers.find((h) => h.provider === provider);
    return assess(provider, own, peers, policy, nowMs);
  });
  // Array.prototype.sort is stable, so equal tiers keep the configured order.
  entries.sort((a, b) => TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier));
  return { order: entries.map((e) => e.provider), entries };
}

export interface RankingAll {
  order: ProviderOrder;
  details: Record<Modality, Ranking>;
}

/** Ranks every modality. A modality whose list had only unknown names comes back empty: the caller decides. */
export function rankAll(
  priority: ProviderOrder,
  health: readonly ProviderHealth[],
  policy: HealthPolicy,
  nowMs?: number,
): RankingAll {
  const details = {} as Record<Modality, Ranking>;
  for (const modality of MODALITIES) {
    details[modality] = rankProviders(modality, priority[modality], health, policy, nowMs);
  }
  return {
    order: { stt: details.stt.order, llm: details.llm.order, tts: details.tts.order },
    details,
  };
}

function assess(
  provider: string,
  own: ProviderHealth | undefined,
  peers: readonly ProviderHealth[],
  policy: HealthPolicy,
  nowMs: number | undefined,
): RankedProvider {
  if (!own || own.successes + own.failures === 0) {
    return { provider, tier: 'healthy', reasons: ['no data yet'] };
  }
  const reasons: string[] = [];
  let tier: Tier = 'healthy';
  const worsen = (to: Tier, reason: string) => {
    if (TIERS.indexOf(to) > TIERS.indexOf(tier)) tier = to;
    reasons.push(reason);
  };

  const circuit = nowMs === undefined ? own.circuit : circuitAt(own.circuit, own.circuitOpenedAtMs, nowMs, policy);
  if (circuit === 'open') {
    worsen('open', `circuit open after ${own.consecutiveFailures} failures in a row${lastError(own)}`);
  } else if (circuit === 'half-open') {
    worsen('degraded', `circuit half-open: cool-down over, on probation${lastError(own)}`);
  }

  if (hasHighErrorRate(own, policy)) {
    worsen(
      'degraded',
      `error rate ${percent(own.errorRate)} above ${percent(policy.openAboveErrorRate)}`,
    );
  }

  const peerMedianMs = median(
    peers
      .filter((p) => p.provider !== own.provider && p.latencyEwmaMs !== null)
      .map((p) => p.latencyEwmaMs as number),
  );
  if (own.latencyEwmaMs !== null && peerMedianMs !== null && own.latencyEwmaMs > policy.slowFactor * peerMedianMs) {
    worsen(
      'slow',
      `slow: ${Math.round(own.latencyEwmaMs)} ms to first byte, peers' median ${Math.round(peerMedianMs)} ms`,
    );
  }

  if (reasons.length === 0) reasons.push('healthy');
  return { provider, tier, reasons };
}

function lastError(h: ProviderHealth): string {
  return h.lastErrorClass ? ` (last error: ${h.lastErrorClass})` : '';
}

function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}
