// Redis trouble on a path that cannot degrade becomes a 503 the caller can retry, not a 500 that looks like a bug.
import { describeError, log } from '../observability/log.ts';
import { httpError } from './errors.ts';

export async function orUnavailable<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    log('error', 'state_unavailable', { what, reason: describeError(err) });
    throw httpError(503, 'unavailable', `${what} is unavailable right now; retry later`, { 'retry-after': '2' });
  }
}
