// The HTTP half of a Deepgram live connection: who is calling (header or subprotocol key) and the refusals Deepgram
// answers before upgrading (401, 400, faults), each with its JSON body, dg-error and dg-request-id headers.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { headerValue, keyAccepted, schemeKey } from '../kit/auth.ts';
import { rejectUpgrade } from '../kit/server.ts';
import { handshakeError } from './messages.ts';

/** Where the key came from: Node clients with `ws` send a header, browsers and native WebSocket a subprotocol. */
export type KeySource = 'header' | 'subprotocol';

/** Auth schemes Deepgram accepts, lower-case as they appear in `Sec-WebSocket-Protocol: token, <key>`. */
const SCHEMES = ['token', 'bearer'] as const;

function offeredProtocols(req: IncomingMessage): string[] {
  const header = headerValue(req.headers, 'sec-websocket-protocol');
  return header ? header.split(',').map((p) => p.trim()).filter((p) => p.length > 0) : [];
}

/** The key the client presented and where, or undefined when it presented none. */
export function presentedKey(req: IncomingMessage): { key: string; source: KeySource } | undefined {
  for (const scheme of SCHEMES) {
    const key = schemeKey(req.headers, scheme);
    if (key) return { key, source: 'header' };
  }
  const protocols = offeredProtocols(req);
  const schemeIndex = protocols.findIndex((p) => (SCHEMES as readonly string[]).includes(p.toLowerCase()));
  const key = schemeIndex >= 0 ? protocols[schemeIndex + 1] : undefined;
  return key ? { key, source: 'subprotocol' } : undefined;
}

export function isAuthorized(req: IncomingMessage, expectedKey: string | undefined): boolean {
  return keyAccepted(presentedKey(req)?.key, expectedKey);
}

/** The subprotocol to echo: a client that offered `token, <key>` must get `token` back or it drops the connection. */
export function selectProtocol(protocols: Set<string>): string | false {
  for (const protocol of protocols) if ((SCHEMES as readonly string[]).includes(protocol.toLowerCase())) return protocol;
  const [first] = protocols;
  return first ?? false;
}

/** Refuses the upgrade the way Deepgram does: status, JSON error body, dg-error and dg-request-id headers. */
export function refuseHandshake(
  socket: Duplex,
  status: number,
  requestId: string,
  details: { retryAfterS?: number | undefined; message?: string } = {},
): void {
  const { retryAfterS } = details;
  const { body, dgError } = handshakeError(status, requestId, details.message);
  rejectUpgrade(
    socket,
    status,
    {
      'content-type': 'application/json',
      'dg-error': dgError,
      'dg-request-id': requestId,
      ...(retryAfterS === undefined ? {} : { 'retry-after': String(retryAfterS) }),
    },
    JSON.stringify(body),
  );
}
