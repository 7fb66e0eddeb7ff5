// The main thread's handle on the model thread: start it (resolving once the model has loaded, or rejecting with the
// typed load error), send it audio, get probabilities back in order. The audio (at most its last 8 s) is copied into
// the message; the caller's buffer is never transferred away from it.
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { TurnModelInferenceError, TurnModelLoadError, TurnModelMissingError } from './errors.ts';
import type { Int8Kernel } from './int8-kernel.ts';
import { WINDOW_SAMPLES } from './log-mel.ts';

export type ToThread = { type: 'predict'; id: number; pcm16k: Int16Array } | { type: 'close' };
export type FromThread =
  | { type: 'ready' }
  | { type: 'load-failed'; name: string; message: string }
  | { type: 'result'; id: number; probability: number; inferenceMs: number }
  | { type: 'failed'; id: number; name: string; message: string };

export interface ModelAnswer {
  probability: number;
  /** Features + inference, measured on the model thread. */
  inferenceMs: number;
}

interface Pending {
  resolve: (answer: ModelAnswer) => void;
  reject: (error: Error) => void;
}

export class TurnModelClient {
  #worker: Worker;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (message: FromThread) => this.#answer(message));
    worker.on('error', (error) => this.#fail(new TurnModelInferenceError(`the end-of-turn model thread failed: ${error.message}`, { cause: error })));
    worker.on('exit', () => this.#fail(new TurnModelInferenceError('the end-of-turn model thread has stopped')));
    worker.unref(); // only a question in flight keeps the process alive (see predict)
  }

  /**
   * Rejects with TurnModelMissingError or TurnModelLoadError, naming the file and the set-up command. `int8Kernel`:
   * the CPU's, as the detector reports it; the thread loads the model for it.
   */
  static async start(path: string, int8Kernel: Int8Kernel): Promise<TurnModelClient> {
    if (!existsSync(path)) throw new TurnModelMissingError(path);
    const worker = new Worker(new URL('./model-thread.ts', import.meta.url), { workerData: { path, int8Kernel } });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromThread) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'load-failed') {
          reject(message.name === 'TurnModelMissingError' ? new TurnModelMissingError(path) : new TurnModelLoadError(path, message.message));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', (error) => reject(new TurnModelLoadError(path, error.message, { cause: error })));
      worker.once('exit', (code) => reject(new TurnModelLoadError(path, `the model thread exited (code ${code}) while loading`)));
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return new TurnModelClient(worker);
  }

  predict(pcm16k: Int16Array): Promise<ModelAnswer> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const answer = new Promise<ModelAnswer>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (this.#pending.size === 1) this.#worker.ref();
    // Only the last 8 s reach the model: a long turn is not copied whole into the message.
    const recent = pcm16k.length > WINDOW_SAMPLES ? pcm16k.subarray(pcm16k.length - WINDOW_SAMPLES) : pcm16k;
    this.#worker.postMessage({ type: 'predict', id, pcm16k: recent } satisfies ToThread);
    return answer;
  }

  /** Stops the thread after the questions already asked; safe to call twice. */
  async close(): Promise<void> {
    if (this.#failure) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.postMessage({ type: 'close' } satisfies ToThread);
    this.#worker.ref();
    await exited;
  }

  #answer(message: FromThread): void {
    if (message.type !== 'result' && message.type !== 'failed') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (message.type === 'result') pending.resolve({ probability: message.probability, inferenceMs: message.inferenceMs });
    else pending.reject(new TurnModelInferenceError(`${message.name}: ${message.message}`));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
