// Prometheus text exposition (version 0.0.4) of everything GET /metrics shows. Pure: state in, text out.
import type { ProviderHealth } from '../health/types.ts';
import { METRIC_PREFIX, seriesName } from './counters.ts';

export interface MetricsSnapshot {
  counters: Record<string, unknown>;
  /** This isolate's failed authentications by route (kept in memory, never in Redis). */
  authFailures?: ReadonlyMap<string, number>;
  health: ProviderHealth[];
  activeSessions: number;
}

interface Family {
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  lines: string[];
}

const HELP: Record<string, string> = {
  voice_tokens_issued_total: 'LiveKit tokens issued to client applications.',
  voice_tokens_rate_limited_total: 'Token requests refused by the rate limiter.',
  voice_webhook_events_total: 'LiveKit webhook deliveries by event and what was done.',
  voice_worker_launches_total: 'Worker launch attempts by result.',
  voice_worker_stops_total: 'Worker stop requests by result.',
  voice_sessions_opened_total: 'Sessions opened (stored, or stateless while Redis was down).',
  voice_sessions_ended_total: 'Sessions ended by reason.',
  voice_sessions_relaunched_total: 'Workers relaunched by the reconcile cron.',
  voice_worker_status_reports_total: 'Status reports received from workers.',
  voice_turns_total: 'Conversation turns reported by workers.',
  voice_turn_end_to_end_ms: 'End of caller speech to first agent audio, per turn.',
  voice_auth_failures_total: 'Failed authentications by route, counted by this isolate in memory (no Redis writes).',
};

function familyOf(series: string): { family: string; type: Family['type'] } {
  const name = series.split('{', 1)[0] ?? series;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  if (base !== name && /_ms$/.test(base)) return { family: base, type: 'histogram' };
  return { family: name, type: name.endsWith('_total') ? 'counter' : 'gauge' };
}

function add(families: Map<string, Family>, series: string, value: number): void {
  const { family, type } = familyOf(series);
  let f = families.get(family);
  if (!f) {
    f = { type, help: HELP[family] ?? family.replace(METRIC_PREFIX, '').replace(/_/g, ' '), lines: [] };
    families.set(family, f);
  }
  f.lines.push(`${series} ${Number.isFinite(value) ? value : 0}`);
}

function addHealth(families: Map<string, Family>, h: ProviderHealth): void {
  const labels = { modality: h.modality, provider: h.provider };
  add(families, seriesName('provider_requests_total', { ...labels, outcome: 'success' }), h.successes);
  add(families, seriesName('provider_requests_total', { ...labels, outcome: 'failure' }), h.failures);
  add(families, seriesName('provider_error_rate', labels), h.errorRate);
  if (h.latencyEwmaMs !== null) add(families, seriesName('provider_latency_ewma_ms', labels), h.latencyEwmaMs);
  for (const state of ['closed', 'open', 'half-open'] as const) {
    add(families, seriesName('provider_circuit_state', { ...labels, state }), h.circuit === state ? 1 : 0);
  }
  for (const b of h.latency.buckets) {
    const le = Number.isFinite(b.leMs) ? String(b.leMs) : '+Inf';
    add(families, seriesName('provider_ttfb_ms_bucket', { ...labels, le }), b.count);
  }
  add(families, seriesName('provider_ttfb_ms_sum', labels), h.latency.sumMs);
  add(families, seriesName('provider_ttfb_ms_count', labels), h.latency.count);
}

export function renderExposition(snapshot: MetricsSnapshot): string {
  const families = new Map<string, Family>();
  add(families, seriesName('sessions_active', {}), snapshot.activeSessions);
  for (const h of snapshot.health) addHealth(families, h);
  for (const [route, n] of snapshot.authFailures ?? []) add(families, seriesName('auth_failures_total', { route }), n);
  for (const series of Object.keys(snapshot.counters).sort()) {
    if (!series.startsWith(METRIC_PREFIX)) continue;
    add(families, series, Number(snapshot.counters[series]));
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.lines);
  }
  return `${out.join('\n')}\n`;
}
