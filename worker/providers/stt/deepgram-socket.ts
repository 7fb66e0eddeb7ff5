// One Deepgram live connection (@deepgram/sdk 5.x), kept open across utterances so each utterance skips the
// handshake. It queues audio sent before the socket opens, sends KeepAlive while nothing else goes out (Deepgram
// closes a connection that is quiet for ~10 s), hands server messages to whoever is attached, and turns the ways the
// socket dies into classified ProviderErrors. Asked to end its stream (closeStream), it takes no more audio and hears
// Deepgram out: the last Results, then a clean close (onEnd). Once closed it stays closed: the provider opens a new one.
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
  /** After closeStream(): Deepgram sent what it owed and closed the connection cleanly. Called once, instead of onFailure. */
  onEnd?(): void;
}

const PROVIDER = 'deepgram';
const FINALIZE = { type: 'Finalize' } as const;
const CLOSE_STREAM = { type: 'CloseStream' } as const;
type Control = typeof FINALIZE | typeof CLOSE_STREAM;
/**
 * After CloseStream, Deepgram sends its last Results and Metadata and closes. A server that does neither within this
 * long has lost the words it owed: the socket fails (and the engine replays the utterance elsewhere).
 */
const CLOSE_STREAM_DEADLINE_MS = 5_000;

export class DeepgramSocket {
  /** Connection parameters (rate, language): a socket serves only utterances that share them. */
  readonly settingsKey: string;
  readonly #sampleRate: number;
  #socket: ListenSocket | undefined;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** Audio and control messages sent before the socket opened, in order. */
  #outbox: Array<Uint8Array | Control> = [];
  /** CloseStream went out (or is queued): no more audio, and a clean close by the server is the stream's end. */
  #ending = false;
  #endDeadline: NodeJS.Timeout | undefined;
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

  /** It may take audio (it is neither closed nor ending its stream). */
  get usable(): boolean {
    return this.#state !== 'closed' && !this.#ending;
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
    if (!this.usable || pcm.length === 0) return;
    this.#sentSamples += pcm.length;
    this.#send(pcmToBytes(pcm));
  }

  /** Asks Deepgram to flush what it holds as final Results with from_finalize (not guaranteed when it holds little). */
  finalize(): void {
    if (this.usable) this.#send(FINALIZE);
  }

  /**
   * Ends the stream the way Deepgram always answers: CloseStream, after which it processes all the audio it has, sends
   * the last Results and Metadata, and closes (then onEnd). Unlike Finalize, whose answer it may skip. The socket takes
   * no more audio.
   */
  closeStream(): void {
    if (!this.usable) return;
    this.#ending = true;
    this.#send(CLOSE_STREAM);
    this.#endDeadline = setTimeout(() => {
      this.#shutDown();
      this.#socket?.close();
      this.#fail(new ProviderError(PROVIDER, 'timeout', `no close within ${CLOSE_STREAM_DEADLINE_MS} ms of CloseStream`));
    }, CLOSE_STREAM_DEADLINE_MS);
    this.#endDeadline.unref();
  }

  /**
   * Closes the socket; an attached listener hears that it is gone. `flush` sends CloseStream first (a graceful
   * goodbye); without it (an abandoned utterance) the results Deepgram still owes are not wanted.
   */
  close(options: { flush: boolean } = { flush: true }): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#shutDown();
    if (wasOpen && options.flush && !this.#ending) {
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
    if (this.#ending && code === 1000 && !this.#lastError) {
      this.#failure = new ProviderError(PROVIDER, 'transient', 'the stream was closed with CloseStream');
      this.#opened.reject(this.#failure);
      this.#listener?.onEnd?.();
      return;
    }
    this.#fail(classifyClose(code, reason, this.#lastError));
  }

  #send(item: Uint8Array | Control): void {
    if (this.#state === 'open') this.#write(item);
    else this.#outbox.push(item);
  }

  #write(item: Uint8Array | Control): void {
    const socket = this.#socket;
    if (!socket) return;
    try {
      if (item instanceof Uint8Array) socket.sendMedia(item);
      else if (item.type === 'CloseStream') socket.sendCloseStream(item);
      else socket.sendFinalize(item);
      this.#sentSinceTick = true;
    } catch (err) {
      this.#shutDown();
      socket.close();
      this.#fail(new ProviderError(PROVIDER, 'transient', `send failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
  }

  #tick(): void {
    if (this.#state !== 'open' || this.#ending) return;
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
    clearTimeout(this.#endDeadline);
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
