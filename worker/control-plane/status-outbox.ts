// The worker's status reports (joined, active, ended, failed), delivered in order through the same retrying outbox as
// metrics and history: a 'joined' that meets a functions hiccup is retried until it lands, instead of leaving the
// session looking never-joined (and its worker replaced) for want of one HTTP call.
import type { WorkerStatus } from './client.ts';
import type { ControlPlaneClient } from './client.ts';
import type { MinimalLogger } from './logger.ts';
import { Outbox } from './outbox.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.ts';

export interface StatusReport {
  status: WorkerStatus;
  reason?: string;
}

export interface StatusOutboxOptions {
  client: Pick<ControlPlaneClient, 'reportStatus'>;
  logger: MinimalLogger;
  /** The functions said the session is over (or another worker took it over): leave. */
  onSessionEnded(): void;
  /** How often a failed delivery is tried again in the background. */
  retryIntervalMs?: number;
  retry?: RetryPolicy;
}

export interface StatusOutbox {
  report(status: WorkerStatus, reason?: string): void;
  /** Delivers what is queued within `timeoutMs` (shutdown); true when everything went out. */
  flush(timeoutMs: number): Promise<boolean>;
  close(): void;
}

export function createStatusOutbox(options: StatusOutboxOptions): StatusOutbox {
  const lifetime = new AbortController();
  const outbox = new Outbox<StatusReport>({
    name: 'status',
    // A handful of transitions per session; more would be a bug, and the oldest is the least interesting.
    capacity: 16,
    batchSize: 1,
    send: async (batch, signal) => {
      const [first] = batch;
      if (first) await options.client.reportStatus(first.status, first.reason, { signal });
    },
    retry: options.retry ?? DEFAULT_RETRY_POLICY,
    logger: options.logger,
    lifetime: lifetime.signal,
    onDropped: (count, why) => options.logger.warn({ outbox: 'status', count, why }, 'status_reports_dropped'),
    onSessionEnded: options.onSessionEnded,
  });
  // One timer for the outbox's whole life (not one per report): it picks up deliveries that failed for now.
  const timer = setInterval(() => {
    if (outbox.queued > 0) outbox.kick();
  }, options.retryIntervalMs ?? 2_000);
  timer.unref();
  return {
    report(status, reason) {
      outbox.push(reason === undefined ? { status } : { status, reason });
      outbox.kick();
    },
    async flush(timeoutMs) {
      const result = await outbox.drainNow(AbortSignal.timeout(timeoutMs));
      return result === 'empty';
    },
    close() {
      clearInterval(timer);
      lifetime.abort();
      outbox.stop();
    },
  };
}
