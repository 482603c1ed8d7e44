import { api } from './api';
import { lang, type Lang } from './i18n';
import type { Preferences } from './types';

/**
 * The server writes a person's mails in their language (SPEC §11), which is the one they use in
 * the console. Both calls are best effort: a failure leaves the console as it was, and the next
 * choice or sign-in tries again.
 */

export function saveLanguage(next: Lang): void {
  api.patch<Preferences>('/api/v1/me', { language: next }, { quiet401: true }).catch(() => undefined);
}

/** After sign-in: a person the server has no language for gets the console's. */
export async function adoptLanguage(): Promise<void> {
  try {
    const preferences = await api.get<Preferences>('/api/v1/me', { quiet401: true });
    if (preferences.language === null) await api.patch<Preferences>('/api/v1/me', { language: lang() }, { quiet401: true });
  } catch {
    // Best effort, as above.
  }
}
