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

/**
 * The export's own output could not be written (a full disk, a folder gone): no fault of the server,
 * so never retried, which would only ask the server for the same window again.
 */
export class OutputError extends Error {}

/**
 * The sink asks for the window it was given once more, at once: it wrote the window in a way that
 * holds only for a response shaped as it expected, found otherwise, and now writes it another way.
 * Not a failure: the window is fetched again without a back-off (the pace still applies) or a count
 * against the retries.
 */
export class FetchAgain extends Error {}

/** An error the operating system raised (ENOSPC, EIO, EACCES, …), which has the failed call's name. */
export const isSystemError = (error: unknown): boolean => typeof (error as { syscall?: unknown } | null)?.syscall === 'string';

/** Failures worth another try: the server or the network, never the request itself. */
export function isRetryable(error: unknown): boolean {
  return error instanceof ExportApiError ? error.kind === 'server' || error.kind === 'network' || error.kind === 'protocol' : false;
}
