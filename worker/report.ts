// The worker's reporter: the conversation engine hands it provider outcomes, turn timings and history synchronously,
// and it delivers them to the control plane in the background, in batches, with bounded retries. It never blocks and
// never throws into the audio path; when the functions are down it keeps what it can (bounded, oldest dropped first,
// drops counted and reported) and delivers once they are back. It also keeps the session's own account for the
// console report.
import type { z } from 'zod';
import {
  historyMessageSchema,
  providerOutcomeSchema,
  turnTimingSchema,
  type HistoryMessage,
  type ProviderOutcome,
  type TurnTiming,
} from '../functions/contract.ts';
import type { ControlPlaneClient } from './control-plane/client.ts';
import { silentLogger, type MinimalLogger } from './control-plane/logger.ts';
import { Outbox, type DrainResult } from './control-plane/outbox.ts';
import { processStats, type ProcessStats } from './control-plane/process-stats.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './control-plane/retry.ts';
import { SessionRecords, type ProviderTally } from './control-plane/session-summary.ts';

export type { MinimalLogger } from './control-plane/logger.ts';
export type ProviderOutcomeInput = z.input<typeof providerOutcomeSchema>;
export type TurnTimingInput = z.input<typeof turnTimingSchema>;

// The contract takes at most 200 turns and 500 outcomes per batch, and 50 history messages per append.
const MAX_METRICS_BATCH = 200;
const HISTORY_BATCH = 50;

export interface ReporterOptions {
  client: Pick<ControlPlaneClient, 'appendHistory' | 'postMetrics'>;
  logger?: MinimalLogger;
  /** How often queued metrics go out (history goes out as soon as it is appended). */
  flushIntervalMs?: number;
  /** A metrics post at least this often even with nothing to say: the functions count it as the worker's heartbeat. */
  heartbeatIntervalMs?: number;
  /** Records per metrics post; a full batch goes out before the interval is up. At most 200. */
  metricsBatchSize?: number;
  /** Outcomes and turns waiting for delivery; past it the oldest are dropped and counted. */
  maxBufferedRecords?: number;
  /** History messages waiting for delivery; past it the oldest are dropped and counted. */
  maxBufferedHistory?: number;
  retry?: Partial<RetryPolicy>;
  /** Default bound for flush() and close(). */
  flushTimeoutMs?: number;
  /** Outcomes and turns kept for summary(), each. */
  summaryLimit?: number;
  /** Called once when the functions say the session has ended: the worker should leave the room. */
  onSessionEnded?: () => void;
}

export interface FlushResult {
  /** True when nothing is left waiting, drop counts included. */
  delivered: boolean;
  pendingRecords: number;
  pendingHistory: number;
  /** Why something is left: the bound ran out, the functions could not be reached, or the session is over. */
  reason?: 'timeout' | 'unreachable' | 'session_ended';
}

export interface ReporterSummary {
  outcomes: readonly ProviderOutcome[];
  turns: readonly TurnTiming[];
  /** Older entries left out of the lists above to keep them bounded. */
  omitted: { outcomes: number; turns: number };
  byProvider: Record<string, ProviderTally>;
  totals: { outcomes: number; turns: number; historyMessages: number; invalidRecords: number };
  delivery: {
    deliveredRecords: number;
    deliveredHistory: number;
    /** Records (history included) that will never reach the functions. */
    droppedRecords: number;
    droppedHistory: number;
    pendingRecords: number;
    pendingHistory: number;
    sessionEnded: boolean;
  };
  process: ProcessStats & { peakRssBytes: number };
}

export interface Reporter {
  record(outcome: ProviderOutcomeInput): void;
  recordTurn(timing: TurnTimingInput): void;
  appendHistory(messages: readonly HistoryMessage[]): void;
  /** Delivers everything queued, within `timeoutMs`; never rejects. */
  flush(options?: { timeoutMs?: number }): Promise<FlushResult>;
  /** Stops the timer, flushes within the bound, then gives up on what is left. Records after close are kept locally only. */
  close(options?: { timeoutMs?: number }): Promise<FlushResult>;
  summary(): ReporterSummary;
  readonly sessionEnded: boolean;
}

type MetricsRecord = { kind: 'outcome'; outcome: ProviderOutcome } | { kind: 'turn'; turn: TurnTiming };

export function createReporter(options: ReporterOptions): Reporter {
  const logger = options.logger ?? silentLogger;
  const flushIntervalMs = options.flushIntervalMs ?? 1_000;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30_000;
  const metricsBatchSize = options.metricsBatchSize ?? 100;
  const flushTimeoutMs = options.flushTimeoutMs ?? 5_000;
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  if (!(metricsBatchSize >= 1 && metricsBatchSize <= MAX_METRICS_BATCH)) {
    throw new RangeError(`metricsBatchSize must be between 1 and ${MAX_METRICS_BATCH}, got ${metricsBatchSize}`);
  }

  const lifetime = new AbortController();
  const records = new SessionRecords(options.summaryLimit ?? 10_000);
  let unreportedDrops = 0;
  let droppedRecords = 0;
  let droppedHistory = 0;
  let lastMetricsPostMs = Date.now();
  let peakRssBytes = 0;
  let sessionEnded = false;
  let closing: Promise<FlushResult> | undefined;

  const sample = (): ProcessStats => {
    const stats = processStats();
    peakRssBytes = Math.max(peakRssBytes, stats.rssBytes);
    return stats;
  };
  const dropped = (what: 'records' | 'history') => (count: number, why: string) => {
    unreportedDrops += count;
    droppedRecords += count;
    if (what === 'history') droppedHistory += count;
    logger.warn({ what, count, why }, 'reporter_dropped');
  };
  const endSession = () => {
    if (sessionEnded) return;
    sessionEnded = true;
    clearInterval(timer);
    metrics.stop();
    history.stop();
    try {
      options.onSessionEnded?.();
    } catch (err) {
      logger.error({ err: String(err) }, 'reporter_on_session_ended_threw');
    }
  };

  const metrics = new Outbox<MetricsRecord>({
    name: 'metrics',
    capacity: options.maxBufferedRecords ?? 5_000,
    batchSize: metricsBatchSize,
    retry,
    logger,
    lifetime: lifetime.signal,
    onDropped: dropped('records'),
    onSessionEnded: endSession,
    sendWhenEmpty: () => unreportedDrops > 0 || Date.now() - lastMetricsPostMs >= heartbeatIntervalMs,
    async send(batch, signal) {
      // Read per attempt: drops counted while a post was failing ride along with the one that succeeds.
      const drops = unreportedDrops;
      const outcomes: ProviderOutcome[] = [];
      const turns: TurnTiming[] = [];
      for (const r of batch) {
        if (r.kind === 'outcome') outcomes.push(r.outcome);
        else turns.push(r.turn);
      }
      await options.client.postMetrics({ outcomes, turns, droppedRecords: drops, process: sample() }, { signal });
      unreportedDrops -= drops;
      lastMetricsPostMs = Date.now();
    },
  });

  const history = new Outbox<HistoryMessage>({
    name: 'history',
    capacity: options.maxBufferedHistory ?? 1_000,
    batchSize: HISTORY_BATCH,
    retry,
    logger,
    lifetime: lifetime.signal,
    onDropped: dropped('history'),
    onSessionEnded: endSession,
    send: (batch, signal) => options.client.appendHistory(batch, { signal }),
  });

  const timer = setInterval(() => metrics.kick(), flushIntervalMs);
  // The reporter never keeps the worker alive by itself: close() is how it gets its last word in.
  timer.unref();

  /** Whatever the engine hands us: a bad record is logged and counted, never thrown back into the audio path. */
  function guarded(what: string, work: () => void): void {
    try {
      work();
    } catch (err) {
      records.invalidRecords += 1;
      logger.error({ what, err: String(err) }, 'reporter_record_failed');
    }
  }

  function accept<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> | undefined {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    records.invalidRecords += 1;
    // Paths and messages only: values could be transcript text.
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`);
    logger.warn({ what, issues }, 'reporter_invalid_record');
    return undefined;
  }

  const accepting = () => !closing && !sessionEnded;

  function queueMetrics(record: MetricsRecord): void {
    if (!accepting()) return;
    metrics.push(record);
    if (metrics.queued >= metricsBatchSize) metrics.kick();
  }

  async function flush(flushOptions: { timeoutMs?: number } = {}): Promise<FlushResult> {
    const bound = new AbortController();
    // A plain (ref'd) timer: at shutdown the flush itself is what keeps the process up, for at most this long.
    const deadline = setTimeout(() => bound.abort(), flushOptions.timeoutMs ?? flushTimeoutMs);
    const signal = AbortSignal.any([lifetime.signal, bound.signal]);
    let results: DrainResult[];
    try {
      results = await Promise.all([history.drainNow(signal), metrics.drainNow(signal)]);
    } finally {
      clearTimeout(deadline);
    }
    const result: FlushResult = {
      delivered: history.pending === 0 && metrics.pending === 0 && unreportedDrops === 0,
      pendingRecords: metrics.pending,
      pendingHistory: history.pending,
    };
    if (result.delivered) return result;
    if (results.includes('session_ended')) return { ...result, reason: 'session_ended' };
    if (results.includes('retry_later')) return { ...result, reason: 'unreachable' };
    return { ...result, reason: 'timeout' };
  }

  return {
    record(outcome) {
      guarded('outcome', () => {
        const valid = accept(providerOutcomeSchema, outcome, 'outcome');
        if (!valid) return;
        records.addOutcome(valid);
        queueMetrics({ kind: 'outcome', outcome: valid });
      });
    },
    recordTurn(timing) {
      guarded('turn', () => {
        const valid = accept(turnTimingSchema, timing, 'turn');
        if (!valid) return;
        records.turns.add(valid);
        queueMetrics({ kind: 'turn', turn: valid });
      });
    },
    appendHistory(messages) {
      guarded('history', () => {
        for (const message of messages) {
          const valid = accept(historyMessageSchema, message, 'history');
          if (!valid) continue;
          records.historyMessages += 1;
          if (accepting()) history.push(valid);
        }
        // History goes out at once: a relaunched worker needs the conversation so far.
        if (accepting()) history.kick();
      });
    },
    flush,
    close(closeOptions = {}) {
      closing ??= (async () => {
        clearInterval(timer);
        const result = await flush(closeOptions);
        // Whatever is still trying (a background run in backoff, a post in flight) ends now.
        lifetime.abort();
        await Promise.all([metrics.idle(), history.idle()]);
        if (!result.delivered) {
          logger.warn({ pendingRecords: result.pendingRecords, pendingHistory: result.pendingHistory, reason: result.reason }, 'reporter_gave_up');
        }
        return result;
      })();
      return closing;
    },
    summary() {
      return {
        outcomes: records.outcomes.items,
        turns: records.turns.items,
        omitted: { outcomes: records.outcomes.omitted, turns: records.turns.omitted },
        byProvider: Object.fromEntries(records.byProvider),
        totals: {
          outcomes: records.outcomes.items.length + records.outcomes.omitted,
          turns: records.turns.items.length + records.turns.omitted,
          historyMessages: records.historyMessages,
          invalidRecords: records.invalidRecords,
        },
        delivery: {
          deliveredRecords: metrics.delivered,
          deliveredHistory: history.delivered,
          droppedRecords,
          droppedHistory,
          pendingRecords: metrics.pending,
          pendingHistory: history.pending,
          sessionEnded,
        },
        process: { ...sample(), peakRssBytes },
      };
    },
    get sessionEnded() {
      return sessionEnded;
    },
  };
}
