/** A sync that cannot go on as asked; the message says what to change. */
export class SyncError extends Error {}
