// One attempt at one provider: its own AbortController (tied to the caller's signal), the watchdog around its
// stream, and the measurements its outcome record needs.
import type { Modality, ProviderOutcome } from '../../functions/contract.ts';
import type { ProviderError } from './errors.ts';
import type { Usage } from './fallback.ts';
import { watch, type WatchPolicy } from './watchdog.ts';

export interface AttemptOptions<C> {
  modality: Modality;
  policy: WatchPolicy;
  signal: AbortSignal;
  isContent?(chunk: C): boolean;
  measure?(chunk: C): Usage;
  now?(): number;
}

export interface Attempt<C> {
  readonly provider: string;
  /** The watched stream. Iterate it once. */
  chunks(): AsyncIterable<C>;
  /** Resolves with true when the first content chunk arrives, false when the attempt ends without one. */
  readonly firstContent: Promise<boolean>;
  outcome(ok: boolean, error?: ProviderError): ProviderOutcome;
  /** Stops the attempt (a lost hedge, a consumer that left); safe to call twice. */
  abort(reason?: Error): void;
  dispose(): void;
}

export function startAttempt<C>(
  provider: string,
  options: AttemptOptions<C>,
  open: (signal: AbortSignal) => AsyncIterable<C>,
): Attempt<C> {
  const now = options.now ?? Date.now;
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(options.signal.reason);
  options.signal.addEventListener('abort', onCallerAbort, { once: true });
  if (options.signal.aborted) controller.abort(options.signal.reason);

  const startedAtMs = now();
  const usage: Required<Usage> = { tokens: 0, characters: 0, audioMs: 0 };
  let ttfbMs: number | undefined;
  let settleFirst: (value: boolean) => void = () => undefined;
  const firstContent = new Promise<boolean>((resolve) => (settleFirst = resolve));

  // Opened right away (not on first iteration) so that a hedge's rival is really running while we wait.
  const watched = watch(provider, open(controller.signal), options.policy, (reason) => controller.abort(reason));
  const pump = async function* (): AsyncGenerator<C> {
    try {
      for await (const chunk of watched) {
        const m = options.measure?.(chunk);
        if (m) {
          usage.tokens += m.tokens ?? 0;
          usage.characters += m.characters ?? 0;
          usage.audioMs += m.audioMs ?? 0;
        }
        if (ttfbMs === undefined && (options.isContent?.(chunk) ?? true)) {
          ttfbMs = now() - startedAtMs;
          settleFirst(true);
        }
        yield chunk;
      }
    } finally {
      settleFirst(false);
    }
  };
  const stream = pump();

  return {
    provider,
    chunks: () => stream,
    firstContent,
    outcome(ok, error) {
      return {
        modality: options.modality,
        provider,
        ok,
        ...(error ? { errorClass: error.errorClass } : {}),
        ...(ttfbMs !== undefined ? { ttfbMs } : {}),
        durationMs: now() - startedAtMs,
        ...(usage.tokens ? { tokens: usage.tokens } : {}),
        ...(usage.characters ? { characters: usage.characters } : {}),
        ...(usage.audioMs ? { audioMs: Math.round(usage.audioMs) } : {}),
        atMs: startedAtMs,
      };
    },
    abort(reason) {
      controller.abort(reason ?? new Error('attempt abandoned'));
    },
    dispose() {
      options.signal.removeEventListener('abort', onCallerAbort);
      if (!controller.signal.aborted) controller.abort(new Error('attempt finished'));
    },
  };
}
