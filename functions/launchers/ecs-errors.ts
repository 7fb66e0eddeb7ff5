// Classifies what ECS (or the way to it) said into LaunchError: retryable when waiting can help (throttling,
// capacity, 5xx, network, timeouts), permanent when only a change of configuration or permissions can.
import type { Failure } from '@aws-sdk/client-ecs';
import { errorMessage } from './deadline.ts';
import { LaunchError } from './types.ts';

const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
]);

/** Errors ECS itself marks as transient, whatever status they came with. */
const TRANSIENT_NAMES = new Set(['ServerException', 'ServiceUnavailable', 'InternalFailure', 'RequestTimeout']);

interface SdkErrorShape {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

export function classifySdkError(
  operation: string,
  error: unknown,
  abortedBecause: 'timeout' | 'caller' | undefined,
  timeoutMs: number,
): LaunchError {
  if (abortedBecause === 'timeout') {
    return new LaunchError(`ECS ${operation} timed out after ${timeoutMs} ms`, true, { cause: error });
  }
  if (abortedBecause === 'caller') {
    return new LaunchError(`ECS ${operation} aborted by the caller`, true, { cause: error });
  }
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const detail = `${name}${status ? ` (HTTP ${status})` : ''}: ${errorMessage(error)}`;
  const retryable =
    THROTTLING_NAMES.has(name) ||
    TRANSIENT_NAMES.has(name) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    e.$fault === 'server' ||
    // ECS answers ClientException when a cluster's quota of PROVISIONING tasks is full: capacity, not config.
    (name === 'ClientException' && /capacity|provisioning|limit/i.test(e.message ?? '')) ||
    // No HTTP status: no answer from ECS at all (refused, reset, DNS; workerd says "Network connection lost.").
    // Our own configuration checks run before the SDK is called, so what is left here is the network.
    status === undefined;
  return new LaunchError(`ECS ${operation} failed: ${detail}`, retryable, { cause: error });
}

/**
 * A RunTask that answers 200 but places nothing. RESOURCE:* (no CPU, memory, ENI...), AGENT (instance agent gone)
 * and Fargate's "capacity is unavailable" clear up by themselves; MISSING, ATTRIBUTE and the like need a config fix.
 */
export function failuresToLaunchError(failures: Failure[]): LaunchError {
  const described = failures
    .map((f) => [f.reason, f.detail].filter(Boolean).join(' – ') || 'unknown reason')
    .join('; ');
  // An empty answer (no task, no failure) is an anomaly worth one more try; the clientToken keeps it idempotent.
  const retryable =
    failures.length === 0 ||
    failures.every((f) => {
      const reason = f.reason ?? '';
      return reason.startsWith('RESOURCE:') || reason === 'AGENT' || /capacity|unavailable|throttl/i.test(reason);
    });
  return new LaunchError(`ECS RunTask placed no task: ${described || 'no task and no failure reported'}`, retryable);
}

/** StopTask on a task ECS no longer knows is what we wanted anyway. */
export function isTaskAlreadyGone(error: unknown): boolean {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  return (
    e.name === 'ResourceNotFoundException' ||
    (e.name === 'InvalidParameterException' && /not found|already stopped/i.test(e.message ?? ''))
  );
}
