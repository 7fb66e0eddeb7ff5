// Body parsing for JSON routes: malformed JSON and schema failures become 400s that say exactly what was wrong.
import type { Context } from 'hono';
import type { z } from 'zod';
import { httpError } from './errors.ts';

export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw httpError(400, 'invalid_json', 'the request body must be valid JSON');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 10)
      .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
      .join('; ');
    throw httpError(400, 'invalid_body', detail);
  }
  return parsed.data;
}
