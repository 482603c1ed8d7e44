import * as oidc from 'openid-client';

/** One sentence about what went wrong talking to the provider, never its response body. */
export function errorMessage(error: unknown): string {
  if (error instanceof oidc.AuthorizationResponseError)
    return `the provider answered ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`;
  if (error instanceof oidc.ResponseBodyError)
    return `the provider answered ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`;
  const cause = (error as { cause?: unknown }).cause;
  const base = error instanceof Error ? error.message : String(error);
  const detail = cause instanceof Error && cause.message && !base.includes(cause.message) ? `: ${cause.message}` : '';
  return `${base}${detail}`.slice(0, 300);
}
