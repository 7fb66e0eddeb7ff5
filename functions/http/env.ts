// The Hono environment shared by every route: bindings in, dependencies and the caller's identity out.
import type { Deps } from '../deps.ts';
import type { KeyIdentity } from './auth.ts';
import type { BootstrapClaims, WorkerClaims } from '../sessions/worker-token.ts';

export type WorkerIdentity = WorkerClaims;

export type AppEnv = {
  Bindings: Record<string, unknown>;
  Variables: {
    deps: Deps;
    /** Short digest of the application key that authenticated the request (never the key itself). */
    appKeyId: string;
    key: KeyIdentity;
    worker: WorkerIdentity;
    bootstrap: BootstrapClaims & { expSeconds: number };
  };
};
