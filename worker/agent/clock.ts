// The engine's one clock. Everything the engine times or waits for runs on the transport's clock (`now`, `setTimer`):
// the console's is virtual and may run 20× faster than the wall, LiveKit's is the process's monotonic clock. The only
// wall-clock reading in the engine is `epochMs`, for records that leave the process and must line up with other
// processes: the turn trace (the bench lays it against its own clock) and history timestamps (the control plane's).
import type { Transport } from '../transport/types.ts';
import type { SetTimer } from './wait.ts';

export interface EngineClock {
  /** Ms on the transport's clock. */
  now(): number;
  setTimer: SetTimer;
  /** Wall-clock epoch ms, sub-ms precision, comparable across processes on one machine. */
  epochMs(): number;
}

export function wallEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

export function clockOf(transport: Pick<Transport, 'now' | 'setTimer'>): EngineClock {
  return {
    now: () => transport.now(),
    setTimer: (ms, fn) => transport.setTimer(ms, fn),
    epochMs: wallEpochMs,
  };
}
