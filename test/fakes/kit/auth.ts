// Key checks shared by the fakes: any non-empty key passes unless the fake was started with { apiKey }.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** True when `presented` is acceptable: non-empty, and exactly `expected` when one is configured (constant time). */
export function keyAccepted(presented: string | undefined, expected: string | undefined): boolean {
  if (!presented) return false;
  if (expected === undefined) return true;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The key from `Authorization: <scheme> <key>` (scheme compared case-insensitively), else undefined. */
export function schemeKey(headers: IncomingHttpHeaders, scheme: string): string | undefined {
  const header = headers.authorization;
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return undefined;
  const key = header.slice(space + 1).trim();
  return key === '' ? undefined : key;
}

/** A single-valued header (the first one when repeated). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
