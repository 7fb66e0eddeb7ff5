// Error classification shared by the three LLM SDKs. openai, groq-sdk and @anthropic-ai/sdk are generated from the
// same template: an APIError carrying status, headers and the vendor's JSON body, with subclasses for connection
// failures, the SDK's own timeout and a caller abort. Each adapter passes its SDK's classes; the mapping is the same.
import { ProviderError, classOfStatus, classifyTransportError, retryAfterMsFrom, truncated } from '../fallback/errors.ts';
import type { ErrorClass } from '../../functions/contract.ts';

/**
 * The SDKs' own deadline only covers the wait for response headers; ours (first token, stalls) live in the engine.
 * This is the generous backstop behind them.
 */
export const DEFAULT_SDK_TIMEOUT_MS = 60_000;

type ErrorConstructor<T> = abstract new (...args: never[]) => T;

interface SdkApiError extends Error {
  readonly status: number | undefined;
  readonly headers: { get(name: string): string | null } | undefined;
  readonly error: unknown;
}

/** The error classes of one SDK (each SDK has its own, so `instanceof` needs the right ones). */
export interface SdkErrorClasses {
  APIError: ErrorConstructor<SdkApiError>;
  APIConnectionError: ErrorConstructor<Error>;
  APIConnectionTimeoutError: ErrorConstructor<Error>;
  APIUserAbortError: ErrorConstructor<Error>;
}

// Error types in the body of an in-stream error frame (no HTTP status) that mean "this request will never work".
const PERMANENT_TYPES = new Set([
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'billing_error',
]);

const MAX_MESSAGE_CHARS = 300;

/** `error.type` from the vendor's body: `{error: {type}}` (Anthropic) or the error object itself (OpenAI, Groq). */
function vendorErrorType(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const inner = 'error' in body && typeof body.error === 'object' && body.error !== null ? body.error : body;
  return 'type' in inner && typeof inner.type === 'string' ? inner.type : undefined;
}

function classOfInStreamType(type: string | undefined): ErrorClass {
  if (type !== undefined && PERMANENT_TYPES.has(type)) return 'permanent';
  if (type === 'timeout_error') return 'timeout';
  // overloaded_error, api_error, server_error, rate limits, and frames we do not recognise: another try may work.
  return 'transient';
}

/** Maps anything an SDK call or its stream threw to a ProviderError (call only when our signal did not abort). */
export function classifyApiError(provider: string, err: unknown, sdk: SdkErrorClasses): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof sdk.APIConnectionTimeoutError) {
    return new ProviderError(provider, 'timeout', 'no response headers before the SDK timeout', { cause: err });
  }
  if (err instanceof sdk.APIConnectionError) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return new ProviderError(provider, 'transient', `connection failed${cause}`, { cause: err });
  }
  // Callers rethrow our own abort before classifying, so an abort seen here came from elsewhere: the request died.
  if (err instanceof sdk.APIUserAbortError) return new ProviderError(provider, 'transient', 'request aborted', { cause: err });
  if (err instanceof sdk.APIError) {
    const message = err.message.slice(0, MAX_MESSAGE_CHARS);
    if (err.status === undefined) {
      const type = vendorErrorType(err.error);
      return new ProviderError(provider, classOfInStreamType(type), `error event in the stream (${type ?? 'untyped'}): ${message}`, { cause: err });
    }
    const errorClass = classOfStatus(err.status);
    const retryAfterMs = errorClass === 'transient' ? retryAfterMsFrom(err.headers) : undefined;
    return new ProviderError(provider, errorClass, message, { status: err.status, cause: err, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  }
  // undici's `TypeError: terminated` when the socket dies mid-body, and anything else unexpected.
  return classifyTransportError(provider, err);
}

/**
 * Runs an adapter's stream and classifies what it throws. An abort we asked for is rethrown untouched: the engine
 * recognises it by its own signal, and it must never count against the provider.
 */
export async function* classifyingErrors<T>(
  provider: string,
  sdk: SdkErrorClasses,
  signal: AbortSignal,
  source: AsyncIterable<T>,
): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (err) {
    if (signal.aborted) throw err;
    throw classifyApiError(provider, err, sdk);
  }
}

/**
 * For a vendor stream that ended without its terminator. The SDKs end their iteration quietly both for a cut body
 * and for our own abort, so the abort is told apart here.
 */
export function endedEarly(provider: string, signal: AbortSignal, what: string): unknown {
  if (signal.aborted) return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
  return truncated(provider, what);
}
