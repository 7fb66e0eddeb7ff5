// Every way a call can fail, as one typed error with a message a person can act on. The page shows `message` as is.
import { ConnectionError, ConnectionErrorReason } from 'livekit-client';

export type FailureKind =
  | 'microphone_denied'
  | 'no_microphone'
  | 'microphone_busy'
  | 'token_refused'
  | 'rate_limited'
  | 'livekit_refused'
  | 'livekit_unreachable'
  | 'agent_absent'
  | 'agent_left'
  | 'disconnected'
  | 'unexpected';

export class TalkFailure extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TalkFailure';
    this.kind = kind;
  }
}

/** getUserMedia's DOMExceptions, by name. */
export function microphoneFailure(error: unknown): TalkFailure {
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return new TalkFailure('microphone_denied', 'The browser did not allow the microphone. Allow it for this page (the icon in the address bar) and press Talk again.', { cause: error });
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return new TalkFailure('no_microphone', 'No microphone was found. Connect one (or pick another in the list) and press Talk again.', { cause: error });
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return new TalkFailure('microphone_busy', 'The microphone could not be opened; another application may be using it.', { cause: error });
  }
  return unexpected(error);
}

/** A non-2xx answer of POST /v1/page/token: its `{error: {code, message}}` body says why. */
export function tokenFailure(status: number, body: unknown, retryAfter: string | null): TalkFailure {
  const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
  const detail = typeof message === 'string' ? message : `HTTP ${status}`;
  if (status === 429) {
    const wait = retryAfter ? ` in ${retryAfter} s` : ' in a minute';
    return new TalkFailure('rate_limited', `Too many calls were started from here. Try again${wait}.`);
  }
  if (status === 404) return new TalkFailure('token_refused', 'The talk page is turned off on this server (TALK_PAGE=off), so no call can start.');
  return new TalkFailure('token_refused', `The server refused to start a call: ${detail}`);
}

/** room.connect()'s errors: LiveKit said no to the token, or could not be reached at all. */
export function connectFailure(error: unknown, url: string): TalkFailure {
  if (error instanceof ConnectionError) {
    if (error.reason === ConnectionErrorReason.NotAllowed) {
      return new TalkFailure('livekit_refused', `The LiveKit server refused the call's token (${error.status ?? 'not allowed'}): the functions and LiveKit may not share an API key.`, { cause: error });
    }
    if (error.reason !== ConnectionErrorReason.Cancelled) {
      return new TalkFailure('livekit_unreachable', `Could not reach the LiveKit server at ${url}. It may be down or blocked by the network.`, { cause: error });
    }
  }
  return unexpected(error);
}

export function unexpected(error: unknown): TalkFailure {
  if (error instanceof TalkFailure) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new TalkFailure('unexpected', `Something went wrong: ${detail}`, { cause: error });
}
