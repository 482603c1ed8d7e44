import { useEffect, useState } from 'preact/hooks';
import en from './locales/en.json';
import ko from './locales/ko.json';

/** One JSON file per language; every key of en.json exists in ko.json (test/console-i18n.test.ts). */
export const MESSAGES = { en, ko } as const;
export type Lang = keyof typeof MESSAGES;
export type MessageKey = keyof typeof en;
export const LANGS: Lang[] = ['en', 'ko'];

const STORAGE_KEY = 'coachport.lang';

function isLang(value: unknown): value is Lang {
  return value === 'en' || value === 'ko';
}

/**
 * The chosen language if the person picked one, else the server's reading of Accept-Language
 * (it marks the page's <html lang>), else the browser's own list.
 */
function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (isLang(stored)) return stored;
  } catch {
    // Storage can be off (private modes); the page still works in the negotiated language.
  }
  const fromServer = document.documentElement.lang.slice(0, 2);
  if (isLang(fromServer)) return fromServer;
  return navigator.languages.some((l) => l.toLowerCase().startsWith('ko')) ? 'ko' : 'en';
}

let current: Lang = initialLang();
const listeners = new Set<() => void>();
document.documentElement.lang = current;

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered, still switched.
  }
  for (const listener of listeners) listener();
}

/** The message for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  const template: string = MESSAGES[current][key] ?? MESSAGES.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** Re-renders the calling component when the language changes. */
export function useLang(): Lang {
  const [value, setValue] = useState(current);
  useEffect(() => {
    const listener = () => setValue(current);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return value;
}

export function formatDateTime(iso: string | null): string {
  if (!iso) return '—';
  return `${new Intl.DateTimeFormat(current === 'ko' ? 'ko-KR' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(new Date(iso))} UTC`;
}

/** To the second, for logs where attempts come seconds apart; in UTC, which the column's heading says. */
export function formatTime(iso: string | null): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(current === 'ko' ? 'ko-KR' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'medium',
    timeZone: 'UTC',
  }).format(new Date(iso));
}

export function formatDate(iso: string | null): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(current === 'ko' ? 'ko-KR' : 'en-GB', { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(iso));
}

export function formatNumber(value: number | null, digits = 2): string {
  if (value === null) return '—';
  return new Intl.NumberFormat(current === 'ko' ? 'ko-KR' : 'en-GB', { maximumFractionDigits: digits }).format(value);
}
