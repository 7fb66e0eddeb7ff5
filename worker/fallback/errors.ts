// Every failure of a provider attempt is a ProviderError with a class; the fallback engine decides by the class.
import type { ErrorClass } from '../../functions/contract.ts';

export class ProviderError extends Error {
  readonly errorClass: ErrorClass;
  readonly provider: string;
  readonly status: number | undefined;
  /** From a 429's retry-after: the provider should not be tried again before this many ms. */
  readonly retryAfterMs: number | undefined;

  constructor(
    provider: string,
    errorClass: ErrorClass,
    message: string,
    options: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(`${provider}: ${message}`, { cause: options.cause });
    this.name = 'ProviderError';
    this.provider = provider;
    this.errorClass = errorClass;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Every provider of a chain failed for this request. The agent apologises and keeps listening. */
export class ChainExhaustedError extends Error {
  readonly modality: string;
  readonly failures: readonly ProviderError[];
  constructor(modality: string, failures: readonly ProviderError[]) {
    super(`every ${modality} provider failed: ${failures.map((f) => `${f.provider} (${f.errorClass})`).join(', ') || 'none available'}`);
    this.name = 'ChainExhaustedError';
    this.modality = modality;
    this.failures = failures;
  }
}

// 408 and 409 are the vendor saying "try again"; the rest of 4xx says the request or the account is wrong.
const PERMANENT_STATUSES = new Set([400, 401, 402, 403, 404, 405, 413, 415, 422]);

export function classOfStatus(status: number): ErrorClass {
  return PERMANENT_STATUSES.has(status) ? 'permanent' : 'transient';
}

/** Seconds or an HTTP date in retry-after; retry-after-ms when the vendor sends it. */
export function retryAfterMsFrom(headers: { get(name: string): string | null } | undefined, nowMs = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = headers.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}


/**
 * The classes every adapter shares for errors that are not the vendor's own API errors: a socket that died
 * (undici's `TypeError: terminated`, ECONNRESET, ECONNREFUSED) is transient.
 */
export function classifyTransportError(provider: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(provider, 'transient', `connection failed: ${message}`, { cause: err });
}

export function truncated(provider: string, what: string): ProviderError {
  return new ProviderError(provider, 'truncated', `${what} ended without its terminator`);
}
