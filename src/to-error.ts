/** What was thrown, as an Error (a stream's `destroy`, a pool's `release` want one). */
export const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));
