// One Deepgram live connection (@deepgram/sdk 5.x), kept open across utterances so each utterance skips the
// handshake. It queues audio sent before the socket opens, sends KeepAlive while nothing else goes out (Deepgram
// closes a connection that is quiet for ~10 s), hands server messages to whoever is attached, and turns the ways the
// socket dies into classified ProviderErrors. Once closed it stays closed: the provider opens a new one.
import type { Deepgram, DeepgramClient } from '@deepgram/sdk';
import { pcmToBytes } from '../../audio/pcm-bytes.ts';
import { ProviderError, classOfStatus, truncated } from '../../fallback/errors.ts';

type ListenSocket = Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>;
export type ListenArgs = Parameters<DeepgramClient['listen']['v1']['connect']>[0];
export type ListenMessage =
  | Deepgram.listen.ListenV1Results
  | Deepgram.listen.ListenV1Metadata
  | Deepgram.listen.ListenV1UtteranceEnd
  | Deepgram.listen.ListenV1SpeechStarted;

export interface SocketListener {
  onMessage(message: ListenMessage): void;
  /** The socket is gone (closed by the server, failed, or closed by us while attached). Called once. */
  onFailure(error: ProviderError): void;
}

const PROVIDER = 'deepgram';
const FINALIZE = { type: 'Finalize' } as const;

export class DeepgramSocket {
  /** Connection parameters (rate, language): a socket serves only utterances that share them. */
  readonly settingsKey: string;
  readonly #sampleRate: number;
  #socket: ListenSocket | undefined;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** Audio and Finalize sent before the socket opened, in order. */
  #outbox: Array<Uint8Array | typeof FINALIZE> = [];
  #listener: SocketListener | undefined;
  #failure: ProviderError | undefined;
  #lastError: Error | undefined;
  #sentSamples = 0;
  #sentSinceTick = false;
  readonly #keepAlive: NodeJS.Timeout;
  readonly #opened: { promise: Promise<void>; resolve(): void; reject(error: ProviderError): void };

  constructor(client: DeepgramClient, args: ListenArgs, settings: { settingsKey: string; sampleRate: number; keepAliveIntervalMs: number }) {
    this.settingsKey = settings.settingsKey;
    this.#sampleRate = settings.sampleRate;
    // Something goes out at least every two intervals: audio, Finalize, or a KeepAlive.
    this.#keepAlive = setInterval(() => this.#tick(), settings.keepAliveIntervalMs);
    this.#keepAlive.unref();
    let resolve!: () => void;
    let reject!: (error: ProviderError) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined); // nobody may be waiting for it
    this.#opened = { promise, resolve, reject };
    void this.#connect(client, args);
  }

  get usable(): boolean {
    return this.#state !== 'closed';
  }

  /** Audio time sent so far: Deepgram's timestamps count from the start of the connection. */
  get sentSeconds(): number {
    return this.#sentSamples / this.#sampleRate;
  }

  /** Settles once the socket is open, or rejects with why it never will be. */
  whenOpen(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#opened.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  attach(listener: SocketListener): void {
    this.#listener = listener;
    if (this.#failure) listener.onFailure(this.#failure);
  }

  detach(): void {
    this.#listener = undefined;
  }

  sendAudio(pcm: Int16Array): void {
    if (this.#state === 'closed' || pcm.length === 0) return;
    this.#sentSamples += pcm.length;
    this.#send(pcmToBytes(pcm));
  }

  /** Asks Deepgram to flush what it holds as final Results with from_finalize (not guaranteed when it holds little). */
  finalize(): void {
    if (this.#state !== 'closed') this.#send(FINALIZE);
  }

  /**
   * Closes the socket; an attached listener hears that it is gone. `flush` sends CloseStream first (a graceful
   * goodbye); without it (an abandoned utterance) the results Deepgram still owes are not wanted.
   */
  close(options: { flush: boolean } = { flush: true }): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#shutDown();
    if (wasOpen && options.flush) {
      try {
        this.#socket?.sendCloseStream({ type: 'CloseStream' });
      } catch {
        // Already closing: nothing left to flush.
      }
    }
    this.#socket?.close();
    this.#fail(new ProviderError(PROVIDER, 'transient', 'connection closed by the worker'));
  }

  async #connect(client: DeepgramClient, args: ListenArgs): Promise<void> {
    let socket: ListenSocket;
    try {
      socket = await client.listen.v1.connect(args);
    } catch (err) {
      this.#shutDown();
      this.#fail(classifyConnectError(err));
      return;
    }
    if (this.#state === 'closed') return; // closed before the socket existed
    this.#socket = socket;
    socket.on('open', () => this.#onOpen());
    socket.on('message', (message) => this.#listener?.onMessage(message as ListenMessage));
    socket.on('error', (error) => (this.#lastError = error));
    // The SDK reports a close BEFORE the error that caused it (a refused handshake: close 1000, then "Unexpected
    // server response: 401"), both in the same turn: decide once the error had its chance to arrive.
    socket.on('close', (event) => queueMicrotask(() => this.#onClose(event.code, event.reason)));
    socket.connect();
  }

  #onOpen(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'open';
    this.#opened.resolve();
    const queued = this.#outbox;
    this.#outbox = [];
    for (const item of queued) this.#write(item);
  }

  #onClose(code: number, reason: string | undefined): void {
    if (this.#state === 'closed') return; // we closed it
    this.#shutDown();
    this.#socket?.close();
    this.#fail(classifyClose(code, reason, this.#lastError));
  }

  #send(item: Uint8Array | typeof FINALIZE): void {
    if (this.#state === 'open') this.#write(item);
    else this.#outbox.push(item);
  }

  #write(item: Uint8Array | typeof FINALIZE): void {
    const socket = this.#socket;
    if (!socket) return;
    try {
      if (item instanceof Uint8Array) socket.sendMedia(item);
      else socket.sendFinalize(item);
      this.#sentSinceTick = true;
    } catch (err) {
      this.#shutDown();
      socket.close();
      this.#fail(new ProviderError(PROVIDER, 'transient', `send failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
  }

  #tick(): void {
    if (this.#state !== 'open') return;
    if (!this.#sentSinceTick) {
      try {
        this.#socket?.sendKeepAlive({ type: 'KeepAlive' });
      } catch {
        // The close event that follows reports the failure.
      }
    }
    this.#sentSinceTick = false;
  }

  #shutDown(): void {
    this.#state = 'closed';
    this.#outbox = [];
    clearInterval(this.#keepAlive);
  }

  #fail(error: ProviderError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#opened.reject(error);
    this.#listener?.onFailure(error);
  }
}

/** A close we did not ask for. `lastError` is set when the socket failed rather than closed. */
export function classifyClose(code: number, reason: string | undefined, lastError: Error | undefined): ProviderError {
  if (lastError) {
    // The SDK keeps only the message of ws's error: the HTTP status of a refused handshake is in it.
    const status = /Unexpected server response: (\d{3})/.exec(lastError.message)?.[1];
    if (status !== undefined) {
      const code = Number(status);
      return new ProviderError(PROVIDER, classOfStatus(code), `handshake refused with HTTP ${code}`, { status: code, cause: lastError });
    }
    if (lastError.message === 'TIMEOUT') {
      return new ProviderError(PROVIDER, 'timeout', 'no websocket handshake before the connect timeout', { cause: lastError });
    }
    return new ProviderError(PROVIDER, 'transient', `connection failed: ${lastError.message}`, { cause: lastError });
  }
  // A clean close is still early while an utterance waits for its results; abnormal ones (1011 NET-0000/NET-0001,
  // 1006 for a dropped connection, 1008 for data Deepgram refused) are worth another provider's try.
  if (code === 1000) return truncated(PROVIDER, 'live transcription');
  return new ProviderError(PROVIDER, 'transient', `socket closed with ${code}${reason ? ` (${reason})` : ''}`);
}

function classifyConnectError(err: unknown): ProviderError {
  const status = typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : NaN;
  const message = err instanceof Error ? err.message : String(err);
  if (Number.isInteger(status)) return new ProviderError(PROVIDER, classOfStatus(status), message, { status, cause: err });
  return new ProviderError(PROVIDER, 'transient', `connection failed: ${message}`, { cause: err });
}
