// Ordered, paced sending on a server-side WebSocket, with the stream faults of the kit applied to it: one outbox per
// connection, shared by the websocket fakes (Deepgram listen, ElevenLabs stream-input).
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import { chunkFaultDue, type ChunkFault, type Fault, type OpenStream } from './kit/faults.ts';

export type OutboxOptions<M> = {
  socket: WebSocket;
  /** Processing latency: a message goes out no sooner than this long after it was queued. */
  latencyMs?: number;
  /** The connection's fault, if any: delayFirstChunk and the chunk faults act here. */
  fault?: Fault | undefined;
  /** Which messages count as "chunks" for stallAfter/destroyAfter/truncateAfter/midStreamError. */
  isChunk: (message: M) => boolean;
  /** The vendor's in-stream failure (midStreamError), e.g. a 1011 close or an error message then a close. */
  failMidStream: (socket: WebSocket) => void;
  /** Told when a fault ends the stream early (for request logs and tests). */
  onFault?: (fault: Fault) => void;
};

export type SendOptions = {
  /** Pace: at least this long after the previous message went out. */
  gapMs?: number;
  /** This message's own processing latency (instead of the outbox's latencyMs). */
  latencyMs?: number;
  /** Told once the message went out (not when a fault or the end dropped it). */
  onSent?: () => void;
};

export class WsOutbox<M> implements OpenStream {
  readonly #options: OutboxOptions<M>;
  #fault: Fault | undefined;
  readonly #openedAt = Date.now();
  readonly #abort = new AbortController();
  #tail: Promise<void> = Promise.resolve();
  #lastSentAt = 0;
  #sentAny = false;
  #chunksSent = 0;
  #queued = 0;
  #stalled = false;
  #finished = false;
  #endedByServer = false;

  constructor(options: OutboxOptions<M>) {
    this.#options = options;
    this.#fault = options.fault;
    options.socket.once('close', () => this.#finish(false));
  }

  /** True once the stream ended (closed by either side or cut by a fault): later messages are dropped. */
  get finished(): boolean {
    return this.#finished;
  }

  /** True when this side ended the stream (a close, an idle timeout, a fault), false when the client left first. */
  get endedByServer(): boolean {
    return this.#endedByServer;
  }

  get chunksSent(): number {
    return this.#chunksSent;
  }

  /** Messages (and closes) queued but not yet handled: the stream is still busy talking. */
  get pending(): number {
    return this.#queued;
  }

  /** A chunk fault from now on (FaultQueue.injectOpen): its chunks count from the chunks already sent. */
  arm(fault: ChunkFault): void {
    this.#fault = { ...fault, chunks: this.#chunksSent + fault.chunks };
    this.#stalled = false;
  }

  send(message: M, options: SendOptions = {}): void {
    const queuedAt = Date.now();
    this.#enqueue(async () => {
      await this.#waitTurn(queuedAt + (options.latencyMs ?? this.#options.latencyMs ?? 0), options.gapMs ?? 0);
      if (this.#finished) return;
      const isChunk = this.#options.isChunk(message);
      if (isChunk && (await this.#applyChunkFault(false))) return;
      this.#options.socket.send(JSON.stringify(message));
      this.#lastSentAt = Date.now();
      if (isChunk) this.#chunksSent += 1;
      options.onSent?.();
    });
  }

  /** Closes after everything queued before it went out (a pending chunk fault fires first, as the stream's end). */
  close(code: number, reason?: string): void {
    const queuedAt = Date.now();
    this.#enqueue(async () => {
      await this.#waitTurn(queuedAt + (this.#options.latencyMs ?? 0), 0);
      if (this.#finished || (await this.#applyChunkFault(true))) return;
      this.#finish(true);
      this.#options.socket.close(code, reason);
    });
  }

  /** Drops everything queued and closes now (idle timeouts, protocol errors). */
  closeNow(code: number, reason?: string): void {
    if (this.#finished) return;
    this.#finish(true);
    this.#options.socket.close(code, reason);
  }

  #enqueue(step: () => Promise<void>): void {
    this.#queued += 1;
    this.#tail = this.#tail
      .then(() => (this.#finished ? undefined : step()))
      .catch((error: unknown) => {
        if (this.#abort.signal.aborted) return; // a pause cut short because the stream ended
        // A bug in the fake must not hang the client: cut the connection and say why.
        console.error('fake websocket outbox failed', error);
        this.#finish(true);
        this.#options.socket.terminate();
      })
      .finally(() => {
        this.#queued -= 1;
      });
  }

  async #waitTurn(readyAt: number, gapMs: number): Promise<void> {
    const fault = this.#fault;
    let dueAt = readyAt;
    if (this.#sentAny) dueAt = Math.max(dueAt, this.#lastSentAt + gapMs);
    else if (fault?.kind === 'delayFirstChunk') dueAt = Math.max(dueAt, this.#openedAt + fault.ms);
    this.#sentAny = true;
    const waitMs = dueAt - Date.now();
    if (waitMs > 0) await sleep(waitMs, undefined, { signal: this.#abort.signal });
  }

  /** Applies the connection's chunk fault if it is due now; true when the stream is over because of it. */
  async #applyChunkFault(isEnd: boolean): Promise<boolean> {
    const fault = chunkFaultDue(this.#fault, this.#chunksSent, isEnd);
    if (!fault) return false;
    const { socket, onFault } = this.#options;
    switch (fault.kind) {
      case 'stallAfter':
        if (this.#stalled) return false;
        this.#stalled = true;
        await sleep(fault.ms, undefined, { signal: this.#abort.signal });
        return false;
      case 'destroyAfter':
        this.#finish(true);
        onFault?.(fault);
        socket.terminate(); // no close frame: the client sees 1006
        return true;
      case 'truncateAfter':
        this.#finish(true);
        onFault?.(fault);
        socket.close(1000); // a clean close that skips the vendor's terminator message
        return true;
      case 'midStreamError':
        this.#finish(true);
        onFault?.(fault);
        this.#options.failMidStream(socket);
        return true;
    }
  }

  /** Ends the stream: queued steps are skipped and any pause in progress is cut short. */
  #finish(byServer: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#endedByServer = byServer;
    this.#abort.abort();
  }
}
