// Bearer-token check in constant time: both sides are hashed first so neither the length nor the content leaks.
import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenCheck = (authorizationHeader: string | undefined) => boolean;

export function bearerTokenCheck(expectedToken: string): TokenCheck {
  if (expectedToken === '') throw new Error('the Upstash REST stand-in needs a non-empty token');
  const expectedDigest = sha256(expectedToken);
  return (authorizationHeader) => {
    // @upstash/redis only ever sends the header (it has no `?_token=` form), so the query string is not consulted.
    const match = /^Bearer (.+)$/i.exec(authorizationHeader?.trim() ?? '');
    const presented = match?.[1] ?? '';
    const matches = timingSafeEqual(sha256(presented), expectedDigest);
    return matches && presented !== '';
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
