// The end-of-turn model's typed errors. A missing file is its own class because the worker treats it as a set-up
// state (it runs on the transcript rule alone), while a file that is there but will not load is a fault.
export const FETCH_COMMAND = 'bash scripts/fetch-turn-model.sh (run by npm run setup)';

export class TurnModelMissingError extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`end-of-turn model not found at ${path}: fetch it with ${FETCH_COMMAND}`);
    this.name = 'TurnModelMissingError';
    this.path = path;
  }
}

export class TurnModelLoadError extends Error {
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`could not load the end-of-turn model ${path}: ${reason} (fetch it again with ${FETCH_COMMAND})`, options);
    this.name = 'TurnModelLoadError';
    this.path = path;
  }
}

/** The model answered something other than one probability, or its thread died. */
export class TurnModelInferenceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TurnModelInferenceError';
  }
}
