// LiveKit as our tests see it: webhooks signed exactly as livekit-server signs them, and a RoomService endpoint.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { ParticipantInfo, ParticipantInfo_Kind, Room, WebhookEvent } from '@livekit/protocol';
import { sign } from 'hono/jwt';
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';

export const DEV_KEY = 'devkey';
export const DEV_SECRET = 'secret';

let eventCounter = 0;

export interface EventSpec {
  event: string;
  room: { name: string; sid?: string; numParticipants?: number };
  participant?: { identity: string; sid?: string; kind?: ParticipantInfo_Kind };
  id?: string;
}

/** The body LiveKit would POST: protobuf JSON, lowerCamelCase, int64 as strings, zero values omitted. */
export function webhookBody(spec: EventSpec): string {
  const ev = new WebhookEvent({
    event: spec.event,
    id: spec.id ?? `EV_test${++eventCounter}${Date.now().toString(36)}`,
    createdAt: BigInt(Math.floor(Date.now() / 1000)),
    room: new Room({
      name: spec.room.name,
      sid: spec.room.sid ?? `RM_${spec.room.name}`,
      numParticipants: spec.room.numParticipants ?? 0,
      creationTime: BigInt(Math.floor(Date.now() / 1000)),
      emptyTimeout: 300,
    }),
    ...(spec.participant
      ? {
          participant: new ParticipantInfo({
            identity: spec.participant.identity,
            sid: spec.participant.sid ?? `PA_${spec.participant.identity}`,
            kind: spec.participant.kind ?? ParticipantInfo_Kind.STANDARD,
            joinedAt: BigInt(Math.floor(Date.now() / 1000)),
          }),
        }
      : {}),
  });
  return ev.toJsonString();
}

export function bodySha256(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('base64');
}

/** Signed as livekit-server does: HS256 JWT, iss = key, claim sha256 = base64(SHA-256(body)), valid 5 minutes. */
export async function signWebhook(body: string, key = DEV_KEY, secret = DEV_SECRET): Promise<string> {
  const at = new AccessToken(key, secret, { ttl: '5m' });
  at.sha256 = bodySha256(body);
  return at.toJwt();
}

export async function signExpiredWebhook(body: string, key = DEV_KEY, secret = DEV_SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ iss: key, sha256: bodySha256(body), nbf: now - 900, exp: now - 600 }, secret, 'HS256');
}

export interface FakeRoomService {
  url: string;
  /** Room names ListRooms reports as existing. */
  rooms: Set<string>;
  calls: number;
  /** When true, every call answers 503 (LiveKit down). */
  failing: boolean;
  close(): Promise<void>;
}

/** LiveKit's Twirp RoomService, enough of it for /health and the reconcile cron, checking the admin JWT. */
export async function startFakeRoomService(key = DEV_KEY, secret = DEV_SECRET): Promise<FakeRoomService> {
  const verifier = new TokenVerifier(key, secret);
  const state = { rooms: new Set<string>(), calls: 0, failing: false };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', async () => {
      state.calls++;
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (state.failing) return reply(503, { code: 'unavailable', msg: 'down for the test' });
      if (req.method !== 'POST' || req.url !== '/twirp/livekit.RoomService/ListRooms') return reply(404, { code: 'bad_route', msg: req.url });
      try {
        const claims = await verifier.verify((req.headers.authorization ?? '').replace(/^Bearer /, ''));
        if (!claims.video?.roomList) return reply(401, { code: 'unauthenticated', msg: 'roomList grant required' });
      } catch {
        return reply(401, { code: 'unauthenticated', msg: 'invalid token' });
      }
      const names = ((raw ? JSON.parse(raw) : {}) as { names?: string[] }).names ?? [];
      const rooms = [...state.rooms].filter((n) => names.length === 0 || names.includes(n)).map((name) => ({ name, sid: `RM_${name}` }));
      reply(200, { rooms });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
