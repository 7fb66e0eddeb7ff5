// HGETALL replies as plain field maps. Our client runs without auto-deserialization, so a hash arrives as the raw
// flat array [field, value, field, value, …]; an auto-parsing client hands back an object. Accept both.
export function toFieldMap(reply: unknown): Record<string, string> | null {
  if (reply === null || reply === undefined) return null;
  const out: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  } else if (typeof reply === 'object') {
    for (const [k, v] of Object.entries(reply)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  } else {
    return null;
  }
  return Object.keys(out).length > 0 ? out : null;
}
