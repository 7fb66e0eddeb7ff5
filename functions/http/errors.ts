// Typed HTTP errors: every 4xx carries a message a client developer can act on.
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export function httpError(status: ContentfulStatusCode, code: string, message: string, headers?: Record<string, string>): HTTPException {
  const res = new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return new HTTPException(status, { res, message });
}
