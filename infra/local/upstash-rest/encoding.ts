// Turns ioredis Buffer replies into the JSON values of the Upstash REST protocol.
//
// With `Upstash-Encoding: base64`, @upstash/redis decodes a top-level string with atob() unless it is exactly "OK", and
// decodes every string inside an array with atob() WITHOUT that exception (so an "OK" there must be base64 too).
// Integers and nulls pass through untouched at every depth. Without the header, strings are plain UTF-8.

export type ReplyEncoding = 'base64' | 'utf8';
export type JsonReply = string | number | null | JsonReply[];

/** The encoding a request asked for through its `Upstash-Encoding` header. */
export function replyEncodingOf(header: string | string[] | undefined): ReplyEncoding {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.trim().toLowerCase() === 'base64' ? 'base64' : 'utf8';
}

/** Encodes one command's reply as the `result` field of an Upstash response. */
export function encodeResult(reply: unknown, encoding: ReplyEncoding): JsonReply {
  if (encoding === 'base64' && isOk(reply)) return 'OK';
  return encodeValue(reply, encoding);
}

function encodeValue(reply: unknown, encoding: ReplyEncoding): JsonReply {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === 'number') return reply;
  if (Buffer.isBuffer(reply)) return encoding === 'base64' ? reply.toString('base64') : reply.toString('utf8');
  if (Array.isArray(reply)) return reply.map((item: unknown) => encodeValue(item, encoding));
  // An error nested in an array (a Lua table holding a pcall failure) has no JSON form: its message stands in.
  if (reply instanceof Error) return encodeValue(Buffer.from(reply.message), encoding);
  return encodeValue(Buffer.from(String(reply)), encoding);
}

function isOk(reply: unknown): boolean {
  return Buffer.isBuffer(reply) && reply.length === 2 && reply[0] === 0x4f && reply[1] === 0x4b;
}
