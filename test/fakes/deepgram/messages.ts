// Deepgram live (v1/listen) server messages, field for field as the vendor sends them and @deepgram/sdk 5.x types them.

export type ModelIdentity = { name: string; version: string; arch: string; uuid: string };

export type Word = { word: string; start: number; end: number; confidence: number; punctuated_word: string };

export type ResultsMessage = {
  type: 'Results';
  channel_index: [number, number];
  duration: number;
  start: number;
  is_final: boolean;
  speech_final: boolean;
  from_finalize: boolean;
  channel: { alternatives: Array<{ transcript: string; confidence: number; words: Word[] }> };
  metadata: { request_id: string; model_info: { name: string; version: string; arch: string }; model_uuid: string };
};

export type ServerMessage =
  | ResultsMessage
  | { type: 'SpeechStarted'; channel: [number, number]; timestamp: number }
  | { type: 'UtteranceEnd'; channel: [number, number]; last_word_end: number }
  | {
      type: 'Metadata';
      transaction_key: string;
      request_id: string;
      sha256: string;
      created: string;
      duration: number;
      channels: number;
      models: string[];
      model_info: Record<string, { name: string; version: string; arch: string }>;
    };

/** The model a request names, as Deepgram reports it back (general-<model>, a fixed version and uuid). */
export function modelIdentity(model: string): ModelIdentity {
  return { name: `general-${model}`, version: '2026-01-01.0', arch: model, uuid: '5d8a9b1e-3c2f-4e6a-9f7b-1a2b3c4d5e6f' };
}

/** Seconds, rounded as Deepgram prints them (no float noise such as 0.30000000000000004). */
export function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** Spreads the transcript's words evenly over [startMs, endMs]: the fake has no acoustics to time them by. */
export function timedWords(transcript: string, startMs: number, endMs: number): Word[] {
  const words = transcript.split(/\s+/).filter((w) => w.length > 0);
  const slotMs = words.length > 0 ? (endMs - startMs) / words.length : 0;
  return words.map((punctuated, i) => ({
    word: punctuated.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''),
    start: seconds(startMs + i * slotMs),
    end: seconds(startMs + (i + 1) * slotMs),
    confidence: 0.99,
    punctuated_word: punctuated,
  }));
}

export type ResultsInput = {
  requestId: string;
  model: ModelIdentity;
  startMs: number;
  endMs: number;
  transcript: string;
  words: Word[];
  isFinal: boolean;
  speechFinal: boolean;
  fromFinalize: boolean;
};

export function results(input: ResultsInput): ResultsMessage {
  const { model } = input;
  return {
    type: 'Results',
    channel_index: [0, 1],
    duration: seconds(input.endMs - input.startMs),
    start: seconds(input.startMs),
    is_final: input.isFinal,
    speech_final: input.speechFinal,
    from_finalize: input.fromFinalize,
    channel: {
      alternatives: [{ transcript: input.transcript, confidence: input.transcript ? 0.99 : 0, words: input.words }],
    },
    metadata: {
      request_id: input.requestId,
      model_info: { name: model.name, version: model.version, arch: model.arch },
      model_uuid: model.uuid,
    },
  };
}

export function speechStarted(atMs: number): ServerMessage {
  return { type: 'SpeechStarted', channel: [0, 1], timestamp: seconds(atMs) };
}

export function utteranceEnd(lastWordEndMs: number): ServerMessage {
  return { type: 'UtteranceEnd', channel: [0, 1], last_word_end: seconds(lastWordEndMs) };
}

export type MetadataInput = { requestId: string; sha256: string; createdAt: Date; durationMs: number; channels: number; model: ModelIdentity };

export function metadata(input: MetadataInput): ServerMessage {
  const { model } = input;
  return {
    type: 'Metadata',
    transaction_key: 'deprecated',
    request_id: input.requestId,
    sha256: input.sha256,
    created: input.createdAt.toISOString(),
    duration: seconds(input.durationMs),
    channels: input.channels,
    models: [model.uuid],
    model_info: { [model.uuid]: { name: model.name, version: model.version, arch: model.arch } },
  };
}

/** The JSON body of a refused handshake (and of Deepgram's REST errors), with the dg-error header's value. */
export function handshakeError(
  status: number,
  requestId: string,
  message?: string,
): { body: Record<string, string>; dgError: string } {
  const [errCode, defaultMessage] = HANDSHAKE_ERRORS[status] ?? (status >= 500 ? SERVER_ERROR : ['Bad Request', 'Bad request.']);
  const errMsg = message ?? defaultMessage;
  return { body: { err_code: errCode, err_msg: errMsg, request_id: requestId }, dgError: errMsg };
}

const SERVER_ERROR: [string, string] = ['INTERNAL_SERVER_ERROR', 'The service encountered an internal error.'];

const HANDSHAKE_ERRORS: Record<number, [string, string]> = {
  400: ['Bad Request', 'Bad request: invalid query parameters.'],
  401: ['INVALID_AUTH', 'Invalid credentials.'],
  402: ['ASR_PAYMENT_REQUIRED', 'Project does not have enough credits for an ASR request.'],
  403: ['INSUFFICIENT_PERMISSIONS', 'The API key does not have permission to use this model.'],
  429: ['TOO_MANY_REQUESTS', 'Too many requests. Please try again later.'],
  503: ['SERVICE_UNAVAILABLE', 'The service is temporarily unavailable.'],
};
