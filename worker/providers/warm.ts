// Connections opened at session start, so the session's first requests pay no TCP, TLS or WebSocket handshake:
// Deepgram's live socket (which its KeepAlives then hold open), and for the HTTP vendors one cheap request (the model
// list) that leaves a keep-alive connection in fetch's pool, which the SDK's next request reuses. Only the first
// provider of each chain, the one the session will use; a vendor named in two chains (OpenAI's LLM and TTS share an
// origin) is warmed once. A warm-up is best effort: bounded in time, logged at debug when it fails, never a provider
// outcome (it marks nothing unhealthy) and never awaited by the session.
//
// Warm again when it is about to be needed: fetch (undici) closes a pooled connection after 4 s idle (less when the
// server's Keep-Alive header says so), and a session's requests are further apart than that. Rather than keep every
// connection alive through every silence (a request per vendor every few seconds of every session), `rewarm()` is
// called when the caller starts speaking (the turn detector's speech_started): the answer's LLM and its TTS are asked
// a few hundred ms later, so a vendor whose connection may have lapsed (idle longer than `staleAfterMs`) is warmed
// then, in parallel with the caller's words. Never while one of its requests is in flight (that would open a second
// connection), and not after a warm-up failed (until the vendor is used again).
//
// The one exception is a speculative request (preemptive generation: LlmRequest/TtsRequest.speculative). It is
// usually dropped, and aborting a stream destroys the connection it held, so the answer asked right after it would
// pay a new TCP and TLS handshake. A spare connection is warmed beside it as it starts, for that answer. A speculation
// that is used leaves the spare idle until fetch closes it; each one costs one model-list request.
import type { Modality } from '../../functions/contract.ts';
import type { Link } from '../fallback/fallback.ts';
import type { ProviderChains } from './registry.ts';
import type { LlmProvider, SttWarmRequest, TtsProvider } from './types.ts';

export interface WarmOptions {
  /** The settings the session's utterances use (a Deepgram socket is opened for exactly these). */
  stt: SttWarmRequest;
  log: { debug(obj: object, msg?: string): void };
  /** Each warm-up gives up after this long. */
  timeoutMs?: number;
  /** `rewarm()` warms an HTTP vendor idle at least this long: its pooled connection may be gone (fetch's limit is 4 s, 3 s against a Keep-Alive of 5). */
  staleAfterMs?: number;
}

export const WARM_DEFAULTS = { timeoutMs: 5_000, staleAfterMs: 3_000 };

export interface Warmth {
  /** Settles once every first warm-up finished or gave up; never rejects. */
  ready: Promise<void>;
  /**
   * The first LLM and TTS vendors are about to be asked (the caller started speaking): warm those whose connection
   * may have lapsed. Settles once those warm-ups finished or gave up; never rejects, never awaited by the session.
   */
  rewarm(): Promise<void>;
  /** Aborts warm-ups in flight; rewarm() does nothing after it (the providers' own close() releases their sockets). */
  stop(): void;
}

/** One vendor's pooled HTTP connection: warmed at session start, and again on demand once it may have lapsed. */
class HttpWarmer {
  readonly #warm: (signal: AbortSignal) => Promise<void>;
  readonly #describe: object;
  readonly #options: Required<Omit<WarmOptions, 'stt'>>;
  readonly #stopped: AbortSignal;
  #inFlight = 0;
  #warming = false;
  /** The last warm-up failed: no other until a request of the vendor's has run. */
  #failed = false;
  /** performance.now() when the connection was last busy (a request or a warm-up ended). */
  #lastUsedMs = -Infinity;

  constructor(warm: (signal: AbortSignal) => Promise<void>, describe: object, options: Required<Omit<WarmOptions, 'stt'>>, stopped: AbortSignal) {
    this.#warm = warm;
    this.#describe = describe;
    this.#options = options;
    this.#stopped = stopped;
  }

  /** Warms again if the connection may have lapsed; true when a warm-up ran and the connection is open. */
  async rewarm(): Promise<boolean> {
    if (this.#failed || performance.now() - this.#lastUsedMs < this.#options.staleAfterMs) return false;
    return this.warm(false);
  }

  /** A speculative request took the warm connection: warm a second one for the request that will follow its drop. */
  spare(): void {
    if (!this.#failed) void this.warm(false, true);
  }

  /** Warms now; true when the connection is open. `beside`: also while a request holds the warm connection. */
  async warm(first: boolean, beside = false): Promise<boolean> {
    if (this.#stopped.aborted || this.#warming || (this.#inFlight > 0 && !beside)) return false;
    this.#warming = true;
    const startedMs = performance.now();
    let ok = false;
    try {
      await this.#warm(AbortSignal.any([this.#stopped, AbortSignal.timeout(this.#options.timeoutMs)]));
      ok = true;
      if (first) this.#options.log.debug({ ...this.#describe, ms: Math.round(performance.now() - startedMs) }, 'provider connection warmed');
    } catch (err) {
      if (!this.#stopped.aborted) this.#options.log.debug({ ...this.#describe, error: errorText(err) }, 'provider warm-up failed');
    } finally {
      this.#warming = false;
      this.#lastUsedMs = performance.now();
    }
    this.#failed = !ok;
    return ok;
  }

  /** A request of this vendor's began: it holds the connection, so no warm-up until it ends. */
  began(): void {
    this.#inFlight++;
  }

  ended(): void {
    this.#inFlight--;
    this.#failed = false;
    this.#lastUsedMs = performance.now();
  }
}

async function* tracked<T>(warmer: HttpWarmer, speculative: boolean | undefined, source: () => AsyncIterable<T>): AsyncGenerator<T> {
  warmer.began();
  if (speculative) warmer.spare();
  try {
    yield* source();
  } finally {
    warmer.ended();
  }
}

/** The same provider, with its requests seen by `warmer` (all else, including `this`, falls through to it). */
function watched<P extends LlmProvider | TtsProvider>(provider: P, warmer: HttpWarmer): P {
  const seen: P = Object.create(provider);
  if (provider.modality === 'llm') {
    (seen as LlmProvider).stream = (request, signal) => tracked(warmer, request.speculative, () => provider.stream(request, signal));
  } else {
    (seen as TtsProvider).synthesize = (request, signal) => tracked(warmer, request.speculative, () => provider.synthesize(request, signal));
  }
  return seen;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}

/**
 * Warms the first provider of each chain, and the HTTP ones again on `rewarm()` when they may have lapsed. The links of `chains` that belong to a warmed
 * HTTP vendor are replaced in place by providers whose requests it sees (so a refresh never races a request); the
 * chains keep their order and names.
 */
export function keepFirstProvidersWarm(chains: ProviderChains, options: WarmOptions): Warmth {
  const settings = { ...WARM_DEFAULTS, ...definedOnly(options), log: options.log };
  const stop = new AbortController();
  const warmers = new Map<string, HttpWarmer>();
  const firstWarmUps: Promise<unknown>[] = [];

  for (const modality of ['llm', 'tts'] as const satisfies readonly Modality[]) {
    const first = chains[modality][0];
    if (!first?.provider.warm || warmers.has(first.name)) continue;
    const provider = first.provider;
    const warmer = new HttpWarmer((signal) => provider.warm!(signal), { provider: first.name, modality }, settings, stop.signal);
    warmers.set(first.name, warmer);
    firstWarmUps.push(warmer.warm(true));
  }
  for (const modality of ['llm', 'tts'] as const) {
    const links = chains[modality] as Link<LlmProvider | TtsProvider>[];
    links.forEach((link, i) => {
      const warmer = warmers.get(link.name);
      if (warmer) links[i] = { ...link, provider: watched(link.provider, warmer) };
    });
  }

  const stt = chains.stt[0];
  // An HTTP STT (OpenAI's) shares its origin with the OpenAI warmer when there is one: that pool is warm already.
  if (stt?.provider.warm && !warmers.has(stt.name)) {
    const sttWarmer = new HttpWarmer((signal) => stt.provider.warm!(options.stt, signal), { provider: stt.name, modality: 'stt' }, settings, stop.signal);
    firstWarmUps.push(sttWarmer.warm(true));
  }

  return {
    ready: Promise.allSettled(firstWarmUps).then(() => undefined),
    rewarm: () => Promise.allSettled([...warmers.values()].map((w) => w.rewarm())).then(() => undefined),
    stop: () => stop.abort(new Error('the session ended')),
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
