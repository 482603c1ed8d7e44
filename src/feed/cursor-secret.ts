import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';

/** The settings row that holds the key when FEED_CURSOR_SECRET is not set. */
export const FEED_CURSOR_SECRET_SETTING = 'feed_cursor_secret';

/**
 * The key of the change feed's cursor MAC: FEED_CURSOR_SECRET when set; otherwise 32 random bytes
 * made by whichever process starts first and kept in the database, so every process (and the next
 * start) accepts the cursors of every other. Never a built-in constant: that would be public.
 */
export function resolveFeedCursorSecret(
  config: Pick<Config, 'feedCursorSecret'>,
  store: Pick<Store, 'settingOrCreate'>,
  now: number,
): Promise<string> {
  if (config.feedCursorSecret !== null) return Promise.resolve(config.feedCursorSecret);
  return store.settingOrCreate(FEED_CURSOR_SECRET_SETTING, randomBytes(32).toString('base64url'), now);
}
