// Fault injection for the fake vendors: a FIFO queue of faults, each applied to the NEXT matching request/connection.
// Every fault kind maps to a failure a real vendor produces and that SDKs surface differently (see README.md).
import { z } from 'zod';

export type Fault =
  | { kind: 'status'; status: number; retryAfterS?: number } // the vendor's own error body; 503 answers an HTML page
  | { kind: 'reset' } // destroy the socket before any response
  | { kind: 'delayHeaders'; ms: number } // nothing at all until ms
  | { kind: 'delayFirstChunk'; ms: number } // headers (or ws open) sent, first event/byte after ms
  | { kind: 'stallAfter'; chunks: number; ms: number } // after N chunks, pause ms (then continue, unless the client left)
  | { kind: 'destroyAfter'; chunks: number } // after N chunks, destroy the socket
  | { kind: 'truncateAfter'; chunks: number } // after N chunks, end cleanly WITHOUT the terminator
  | { kind: 'midStreamError'; chunks: number } // after N chunks, the vendor's in-stream error event (SSE) / close 1011 (ws)
  | { kind: 'rejectHandshake'; status: number } // websockets: HTTP error instead of upgrade
  | { kind: 'silence' } // deepgram: accept audio, never send Results
  | { kind: 'quietFinalize' } // deepgram: a Finalize with nothing pending gets no answer (its docs allow that)
  | { kind: 'ignoreFinalize' }; // deepgram: no Finalize is ever answered (the stream still endpoints as usual)

/** A fault waiting in the queue: `route` limits it to one route name ('chat', 'speech', 'listen'…); `times` repeats it. */
export type QueuedFault = Fault & { route?: string; times?: number };

export type FaultKind = Fault['kind'];

/** The faults that act on a stream after N chunks (shared by SSE, chunked audio and websockets). */
export type ChunkFault = Extract<Fault, { chunks: number }>;

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();
const queuedExtras = { route: z.string().min(1).optional(), times: z.number().int().positive().optional() };

/** Validates faults arriving through the control API (POST /__fake/faults). */
export const queuedFaultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('status'), status: z.number().int().min(400).max(599), retryAfterS: ms.optional(), ...queuedExtras }),
  z.object({ kind: z.literal('reset'), ...queuedExtras }),
  z.object({ kind: z.literal('delayHeaders'), ms, ...queuedExtras }),
  z.object({ kind: z.literal('delayFirstChunk'), ms, ...queuedExtras }),
  z.object({ kind: z.literal('stallAfter'), chunks: count, ms, ...queuedExtras }),
  z.object({ kind: z.literal('destroyAfter'), chunks: count, ...queuedExtras }),
  z.object({ kind: z.literal('truncateAfter'), chunks: count, ...queuedExtras }),
  z.object({ kind: z.literal('midStreamError'), chunks: count, ...queuedExtras }),
  z.object({ kind: z.literal('rejectHandshake'), status: z.number().int().min(400).max(599), ...queuedExtras }),
  z.object({ kind: z.literal('silence'), ...queuedExtras }),
  z.object({ kind: z.literal('quietFinalize'), ...queuedExtras }),
  z.object({ kind: z.literal('ignoreFinalize'), ...queuedExtras }),
]);

/** A stream open now (a websocket's outbox) that can take a chunk fault counted from the moment it is armed. */
export interface OpenStream {
  /** True once the stream ended (its close event may come later). */
  readonly finished: boolean;
  arm(fault: ChunkFault): void;
}

/**
 * FIFO of faults. `take(route)` removes (or decrements) the first fault whose route matches and returns it.
 * Websockets live across many turns, so a fault taken at connection time cannot hit "the next answer": `injectOpen`
 * arms a chunk fault on the connections open now instead (a vendor dropping a socket mid-stream).
 */
export class FaultQueue {
  #queue: Array<QueuedFault & { remaining: number }> = [];
  readonly #open = new Map<string, Set<OpenStream>>();

  /** Registers an open stream on `route`; call the returned function when it closes. */
  track(route: string, stream: OpenStream): () => void {
    const set = this.#open.get(route) ?? new Set<OpenStream>();
    this.#open.set(route, set);
    set.add(stream);
    return () => set.delete(stream);
  }

  /**
   * Arms `fault` on every stream open on `route` now, its `chunks` counted from now; with none open it is queued for
   * the next connection instead. Returns how many open streams were armed.
   */
  injectOpen(route: string, fault: ChunkFault): number {
    const open = [...(this.#open.get(route) ?? [])].filter((s) => !s.finished);
    for (const stream of open) stream.arm(fault);
    if (open.length === 0) this.push({ ...fault, route });
    return open.length;
  }

  /** Queue faults; each applies to one future matching request (`times` of them when given). */
  push(...faults: QueuedFault[]): void {
    for (const fault of faults) this.#queue.push({ ...fault, remaining: fault.times ?? 1 });
  }

  /** The fault for the next request on `route`, or undefined. Faults without a route match every route. */
  take(route: string): Fault | undefined {
    const index = this.#queue.findIndex((f) => f.route === undefined || f.route === route);
    const entry = this.#queue[index];
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#queue.splice(index, 1);
    const { route: _route, times: _times, remaining: _remaining, ...fault } = entry;
    return fault as Fault;
  }

  /** What is still waiting (a copy; `times` shows the remaining count). */
  get pending(): QueuedFault[] {
    return this.#queue.map(({ remaining, ...f }) => ({ ...f, times: remaining }));
  }

  clear(): void {
    this.#queue = [];
  }
}

/** The chunk fault due once `sent` chunks have gone out, if any (a count beyond the stream fires before the terminator). */
export function chunkFaultDue(fault: Fault | undefined, sent: number, isEnd: boolean): ChunkFault | undefined {
  if (!fault || !('chunks' in fault)) return undefined;
  return fault.chunks === sent || (isEnd && fault.chunks > sent) ? fault : undefined;
}
