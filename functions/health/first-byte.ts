// The measured first-byte latency handed to a worker beside its provider order: the worker derives its LLM hedge
// delay from it (worker/fallback/hedge-delay.ts). Pure; only providers in the order and with a measurement appear.
import { MODALITIES } from '../contract.ts';
import type { FirstByteLatency, ProviderOrder } from '../contract.ts';
import type { ProviderHealth } from './types.ts';

type FirstByteTable = NonNullable<ProviderOrder['firstByte']>;

/** Rounded to whole milliseconds: the worker needs no more, and the session record stays short. */
function latencyOf(h: ProviderHealth): FirstByteLatency | undefined {
  if (h.latencyEwmaMs === null) return undefined;
  return {
    ewmaMs: Math.round(h.latencyEwmaMs),
    ...(h.latencyDeviationMs !== null ? { deviationMs: Math.round(h.latencyDeviationMs) } : {}),
    samples: h.latency.count,
  };
}

export function firstByteLatencies(order: Pick<ProviderOrder, 'stt' | 'llm' | 'tts'>, health: readonly ProviderHealth[]): FirstByteTable | undefined {
  const table: FirstByteTable = {};
  for (const modality of MODALITIES) {
    const measured: Record<string, FirstByteLatency> = {};
    for (const provider of order[modality]) {
      const h = health.find((x) => x.modality === modality && x.provider === provider);
      const latency = h && latencyOf(h);
      if (latency) measured[provider] = latency;
    }
    if (Object.keys(measured).length > 0) table[modality] = measured;
  }
  return Object.keys(table).length > 0 ? table : undefined;
}
