// The query parameters of GET /v1/listen that change what the fake says, parsed the way Deepgram reads them.

export type ListenOptions = {
  model: string;
  encoding: string | undefined;
  sampleRate: number;
  channels: number;
  interimResults: boolean;
  /** Silence that ends an utterance with speech_final; null when the client sent endpointing=false. */
  endpointingMs: number | null;
  /** Silence after the last word before an UtteranceEnd; null when not requested. */
  utteranceEndMs: number | null;
  vadEvents: boolean;
};

/** Deepgram's own default when the client does not set endpointing. */
const DEFAULT_ENDPOINTING_MS = 10;
/** The fake's assumption when sample_rate is absent (Deepgram needs it whenever encoding is given). */
const DEFAULT_SAMPLE_RATE = 16_000;
const DEFAULT_MODEL = 'nova-3';

export class ListenOptionsError extends Error {
  readonly parameter: string;

  constructor(parameter: string, value: string) {
    super(`Invalid value for query parameter ${parameter}: ${JSON.stringify(value)}`);
    this.name = 'ListenOptionsError';
    this.parameter = parameter;
  }
}

function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ListenOptionsError(name, value);
}

function positiveInt(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new ListenOptionsError(name, value);
  return parsed;
}

function endpointing(query: URLSearchParams): number | null {
  const value = query.get('endpointing');
  if (value === null || value === 'true') return DEFAULT_ENDPOINTING_MS;
  if (value === 'false') return null;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new ListenOptionsError('endpointing', value);
  return parsed;
}

/** Reads the listen options from a handshake URL; throws ListenOptionsError for a value Deepgram would reject (400). */
export function parseListenOptions(query: URLSearchParams): ListenOptions {
  return {
    model: query.get('model') ?? DEFAULT_MODEL,
    encoding: query.get('encoding') ?? undefined,
    sampleRate: positiveInt(query, 'sample_rate') ?? DEFAULT_SAMPLE_RATE,
    channels: positiveInt(query, 'channels') ?? 1,
    interimResults: flag(query, 'interim_results'),
    endpointingMs: endpointing(query),
    utteranceEndMs: positiveInt(query, 'utterance_end_ms') ?? null,
    vadEvents: flag(query, 'vad_events'),
  };
}
