// The worker's credentials, both HS256 JWTs under WORKER_TOKEN_SECRET, told apart by audience so neither passes for
// the other:
// - the bootstrap credential travels in the launch (RunTask overrides, the local launcher's request), expires within
//   the join timeout and is exchanged once (its jti is burnt in Redis) for
// - the session token, bound to one session AND its launch generation: the functions refuse it once the session
//   has ended or a newer generation has taken over, whatever its exp says.
// The worker never holds Redis or LiveKit API credentials.
import { sign, verify } from 'hono/jwt';

const SESSION_AUDIENCE = 'voice-worker';
const BOOTSTRAP_AUDIENCE = 'voice-worker-bootstrap';

export interface WorkerClaims {
  sessionId: string;
  room: string;
  /** The room incarnation's claim key (sid, or name:<room>): what adoption after a Redis outage claims. */
  roomKey: string;
  generation: number;
  /** Launched while Redis was down: there may be no record yet, and the functions adopt the session later. */
  stateless: boolean;
}

export interface BootstrapClaims extends WorkerClaims {
  /** Single-use nonce. */
  jti: string;
}

function claimsOf(payload: Record<string, unknown>): WorkerClaims | null {
  const { sub, room, rk, gen, sl } = payload;
  if (typeof sub !== 'string' || typeof room !== 'string' || typeof rk !== 'string' || typeof gen !== 'number') return null;
  return { sessionId: sub, room, roomKey: rk, generation: gen, stateless: sl === true };
}

function payloadOf(claims: WorkerClaims, audience: string, nowMs: number, ttlSeconds: number): Record<string, unknown> {
  const now = Math.floor(nowMs / 1000);
  return {
    sub: claims.sessionId,
    room: claims.room,
    rk: claims.roomKey,
    gen: claims.generation,
    ...(claims.stateless ? { sl: true } : {}),
    aud: audience,
    iat: now,
    nbf: now - 5,
    exp: now + ttlSeconds,
  };
}

export async function mintWorkerToken(claims: WorkerClaims, secret: string, ttlSeconds: number, nowMs: number): Promise<string> {
  return sign(payloadOf(claims, SESSION_AUDIENCE, nowMs, ttlSeconds), secret, 'HS256');
}

/** Returns the claims, or null for any token that is malformed, forged, expired or meant for something else. */
export async function verifyWorkerToken(token: string, secret: string): Promise<WorkerClaims | null> {
  try {
    return claimsOf(await verify(token, secret, { alg: 'HS256', aud: SESSION_AUDIENCE }));
  } catch {
    return null;
  }
}

export async function mintBootstrapToken(claims: WorkerClaims, secret: string, ttlSeconds: number, nowMs: number): Promise<string> {
  const jti = crypto.randomUUID().replace(/-/g, '');
  return sign({ ...payloadOf(claims, BOOTSTRAP_AUDIENCE, nowMs, ttlSeconds), jti }, secret, 'HS256');
}

export async function verifyBootstrapToken(token: string, secret: string): Promise<(BootstrapClaims & { expSeconds: number }) | null> {
  try {
    const payload = await verify(token, secret, { alg: 'HS256', aud: BOOTSTRAP_AUDIENCE });
    const claims = claimsOf(payload);
    if (!claims || typeof payload.jti !== 'string' || typeof payload.exp !== 'number') return null;
    return { ...claims, jti: payload.jti, expSeconds: payload.exp };
  } catch {
    return null;
  }
}
