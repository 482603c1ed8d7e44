/** Why an export failed, sorted the way a person (and an exit code) needs it. */
export type ExportErrorKind = 'auth' | 'bad_request' | 'server' | 'network' | 'protocol';

export class ExportApiError extends Error {
  constructor(
    readonly kind: ExportErrorKind,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/** Failures worth another try: the server or the network, never the request itself. */
export function isRetryable(error: unknown): boolean {
  return error instanceof ExportApiError ? error.kind === 'server' || error.kind === 'network' || error.kind === 'protocol' : false;
}
