// Verifying a LiveKit webhook: the signature over the exact body bytes first, the JSON second.
import { WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';

export type VerifyResult =
  | { ok: true; event: WebhookEvent }
  | { ok: false; status: 400 | 401; message: string };

const receivers = new Map<string, WebhookReceiver>();

function receiverFor(apiKey: string, apiSecret: string): WebhookReceiver {
  const id = `${apiKey}\u0000${apiSecret}`;
  let r = receivers.get(id);
  if (!r) {
    // Key and secret always explicit: without them the SDK reads process.env, which throws in workerd.
    r = new WebhookReceiver(apiKey, apiSecret);
    receivers.set(id, r);
  }
  return r;
}

// receive() checks the JWT and the body's sha256 before it parses, so a parse error means the signature was good
// and the body itself is malformed: 400, not 401.
function isMalformedBody(err: unknown): boolean {
  return err instanceof SyntaxError || (err instanceof Error && err.message.startsWith('cannot decode'));
}

export async function verifyWebhook(rawBody: string, authorization: string | undefined, apiKey: string, apiSecret: string): Promise<VerifyResult> {
  if (!authorization) return { ok: false, status: 401, message: 'missing Authorization header with the webhook signature' };
  try {
    const event = await receiverFor(apiKey, apiSecret).receive(rawBody, authorization);
    return { ok: true, event };
  } catch (err) {
    if (isMalformedBody(err)) return { ok: false, status: 400, message: 'the webhook body is not a valid WebhookEvent JSON' };
    return { ok: false, status: 401, message: 'the webhook signature is invalid or expired' };
  }
}
