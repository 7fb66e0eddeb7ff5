// The Hono environment shared by every route: bindings in, dependencies and the caller's identity out.
import type { Deps } from '../deps.ts';

export interface WorkerIdentity {
  sessionId: string;
  room: string;
}

export type AppEnv = {
  Bindings: Record<string, unknown>;
  Variables: {
    deps: Deps;
    /** Short digest of the application key that authenticated the request (never the key itself). */
    appKeyId: string;
    worker: WorkerIdentity;
  };
};
