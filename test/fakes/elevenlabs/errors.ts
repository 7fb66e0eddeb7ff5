// ElevenLabs error bodies: `detail` is an object {status, message} for API errors and a FastAPI list of
// {loc, msg, type} for validation failures (422).

export type ValidationIssue = { loc: Array<string | number>; msg: string; type: string };

export type ErrorBody = { detail: { status: string; message: string } } | { detail: ValidationIssue[] };

export function missingKeyBody(): ErrorBody {
  return {
    detail: {
      status: 'needs_authorization',
      message: 'Neither authorization header nor xi-api-key received, please provide one.',
    },
  };
}

export function invalidKeyBody(): ErrorBody {
  return { detail: { status: 'invalid_api_key', message: 'Invalid API key' } };
}

export function validationBody(issues: ValidationIssue[]): ErrorBody {
  return { detail: issues };
}

const STATUS_ERRORS: Record<number, { status: string; message: string }> = {
  400: { status: 'invalid_request', message: 'The request could not be processed.' },
  401: invalidKeyBody().detail as { status: string; message: string },
  402: { status: 'payment_required', message: 'This request exceeds your quota.' },
  404: { status: 'voice_not_found', message: 'A voice with the voice_id was not found.' },
  429: {
    status: 'too_many_concurrent_requests',
    message: 'Too many concurrent requests. Your current subscription allows fewer concurrent requests.',
  },
  500: { status: 'internal_server_error', message: 'An internal server error occurred.' },
  503: { status: 'system_busy', message: 'We are experiencing heavy traffic, please try again.' },
};

/** The body ElevenLabs answers a given error status with. */
export function statusBody(status: number): ErrorBody {
  if (status === 422) return validationBody([{ loc: ['body'], msg: 'Invalid request body', type: 'value_error' }]);
  const known = STATUS_ERRORS[status] ?? (status >= 500 ? STATUS_ERRORS[500] : STATUS_ERRORS[400]);
  return { detail: known ?? { status: 'error', message: 'Error' } };
}
