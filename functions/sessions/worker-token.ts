// The per-session worker token: minted at launch, scoped to one session and room, expiring. It is how a worker
// proves which room it serves; the worker never holds Redis or LiveKit admin credentials.
import { sign, verify } from 'hono/jwt';

const AUDIENCE = 'voice-worker';

export interface WorkerClaims {
  sessionId: string;
  room: string;
}

export async function mintWorkerToken(
  claims: WorkerClaims,
  secret: string,
  ttlSeconds: number,
  nowMs: number,
): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return sign({ sub: claims.sessionId, room: claims.room, aud: AUDIENCE, iat: now, nbf: now - 5, exp: now + ttlSeconds }, secret, 'HS256');
}

/** Returns the claims, or null for any token that is malformed, forged, expired or meant for something else. */
export async function verifyWorkerToken(token: string, secret: string): Promise<WorkerClaims | null> {
  try {
    const payload = await verify(token, secret, { alg: 'HS256', aud: AUDIENCE });
    if (typeof payload.sub !== 'string' || typeof payload.room !== 'string') return null;
    return { sessionId: payload.sub, room: payload.room };
  } catch {
    return null;
  }
}
