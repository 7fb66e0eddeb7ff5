// The talk page (GET /, /app.js, /style.css) and its narrow token route (POST /v1/page/token), both off unless
// TALK_PAGE=on. The page holds no secret: it asks this route for a short-lived token to one `talk-` room under a random
// identity, allowed to publish a microphone and data only. The route refuses anything but the page's own origin (no
// CORS headers are ever sent), and is rate limited per client IP and, across all IPs, per page.
import { Hono, type Context } from 'hono';
import { AccessToken, TrackSource } from 'livekit-server-sdk';
import { z } from 'zod';
import { PAGE_FILES } from '../../dist/page/assets.js';
import { httpError } from '../http/errors.ts';
import type { AppEnv } from '../http/env.ts';
import { checkTokenRateLimit } from '../http/rate-limit.ts';
import { readJson } from '../http/validate.ts';
import { countLater } from '../observability/counters.ts';

/** Rooms the page may join: its own, never a client application's. */
export const PAGE_ROOM_PREFIX = 'talk-';
/** Long enough to connect (LiveKit refreshes a connected participant's token itself), short enough to be useless later. */
export const PAGE_TOKEN_TTL_SECONDS = 300;
/** The rate limiter's "key" for the page: its per-key limit becomes one ceiling for every visitor together. */
const PAGE_LIMIT_KEY = 'talk-page';

const pageTokenRequest = z.object({
  room: z
    .string()
    .max(64)
    .regex(new RegExp(`^${PAGE_ROOM_PREFIX}[A-Za-z0-9-]{1,59}$`), `must be "${PAGE_ROOM_PREFIX}" followed by letters, digits or -`)
    .optional(),
});

function requirePageOn(c: Context<AppEnv>): void {
  if (!c.var.deps.config.talkPage) throw httpError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
}

/**
 * Only the page itself may ask: browsers send Origin on every POST and Sec-Fetch-Site on modern engines, and neither
 * can be set by a script on another origin. (A non-browser client can forge both: the rate limit is what bounds it.)
 */
function requireSameOrigin(c: Context<AppEnv>): void {
  const origin = c.req.header('origin');
  const site = c.req.header('sec-fetch-site');
  const own = new URL(c.req.url).origin;
  if (site !== undefined && site !== 'same-origin') {
    throw httpError(403, 'cross_origin', 'the page token route answers only the talk page on its own origin');
  }
  if (origin !== own) {
    throw httpError(403, 'cross_origin', 'the page token route answers only the talk page on its own origin');
  }
}

function randomId(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export const pageTokenRoutes = new Hono<AppEnv>().post('/token', async (c) => {
  requirePageOn(c);
  requireSameOrigin(c);
  const { config } = c.var.deps;
  if (!(c.req.header('content-type') ?? '').startsWith('application/json')) {
    throw httpError(415, 'unsupported_media_type', 'send the request as application/json');
  }
  const body = await readJson(c, pageTokenRequest);
  const decision = await checkTokenRateLimit(c.var.deps, PAGE_LIMIT_KEY, c.req.header('cf-connecting-ip') ?? 'unknown');
  if (!decision.allowed) {
    countLater(c.var.deps, 'tokens_rate_limited_total', { by: decision.limitedBy ?? 'ip' });
    throw httpError(429, 'rate_limited', `too many calls started from here; try again in ${decision.retryAfterSeconds} s`, {
      'retry-after': String(decision.retryAfterSeconds),
    });
  }
  const room = body.room ?? `${PAGE_ROOM_PREFIX}${randomId(8)}`;
  const identity = `web-${randomId(6)}`;
  const at = new AccessToken(config.livekit.apiKey, config.livekit.apiSecret, { identity, ttl: PAGE_TOKEN_TTL_SECONDS });
  at.addGrant({
    roomJoin: true,
    room,
    canSubscribe: true,
    canPublish: true,
    canPublishSources: [TrackSource.MICROPHONE],
    canPublishData: true,
    canUpdateOwnMetadata: false,
  });
  const expiresAt = new Date(c.var.deps.nowMs() + PAGE_TOKEN_TTL_SECONDS * 1000).toISOString();
  countLater(c.var.deps, 'tokens_issued_total', {});
  c.header('cache-control', 'no-store');
  return c.json({ token: await at.toJwt(), url: config.livekit.publicUrl, room, identity, expiresAt });
});

/** What the page may load and connect to: itself and the LiveKit server (signalling over ws, its HTTP validate call). */
function contentSecurityPolicy(livekitUrl: string): string {
  const lk = new URL(livekitUrl);
  const ws = `${lk.protocol.replace(/^http/, 'ws')}//${lk.host}`;
  const http = `${lk.protocol.replace(/^ws/, 'http')}//${lk.host}`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob:",
    `connect-src 'self' ${ws} ${http}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function servePageFile(c: Context<AppEnv>): Response {
  requirePageOn(c);
  const file = PAGE_FILES[c.req.path];
  if (!file) throw httpError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
  const headers: Record<string, string> = {
    'content-type': file.contentType,
    etag: file.etag,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': contentSecurityPolicy(c.var.deps.config.livekit.publicUrl),
    // The page asks for the microphone and nothing else.
    'permissions-policy': 'microphone=(self), camera=(), geolocation=()',
  };
  if (c.req.header('if-none-match') === file.etag) return c.body(null, 304, headers);
  return c.body(file.body, 200, headers);
}

export const pageRoutes = new Hono<AppEnv>().get('/', servePageFile).get('/app.js', servePageFile).get('/style.css', servePageFile);
