import { daysBetween, isCalendarDay } from '../contract/dates.js';
import { CliError, EXIT_USAGE } from './context.js';

/**
 * A server's address as given on the command line (`--url`, `--from-server`): http or https, and
 * no user name or password. Never echoed when refused: what is there may be a secret, which
 * messages would show and `--resume` would keep in its file.
 */
export function serverAddress(flag: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${flag} must be the http:// or https:// address of a server, such as https://coaching.example.com.`, EXIT_USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`${flag} must be an http:// or https:// address, not ${url.protocol}//…`, EXIT_USAGE);
  }
  if (url.username !== '' || url.password !== '') {
    throw new CliError(`${flag} must not hold a user name or password: the API token goes in --token.`, EXIT_USAGE);
  }
  return url;
}

/** The server's address as it may be shown and stored: no query or fragment. */
export function shownServer(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

/** A flag's value as a calendar day. */
export function checkDay(flag: string, value: string): void {
  if (!isCalendarDay(value)) throw new CliError(`${flag} must be a calendar day in YYYY-MM-DD form, not "${value}".`, EXIT_USAGE);
}

/** `--from` and `--to` as calendar days, in order. */
export function checkDays(from: string, to: string): void {
  checkDay('--from', from);
  checkDay('--to', to);
  if (daysBetween(from, to) < 0) throw new CliError(`--to (${to}) is before --from (${from}).`, EXIT_USAGE);
}

/** `--per-second` and `--per-minute`, the server's export limits the client paces itself to: positive whole numbers. */
export function checkPace(perSecond: string, perMinute: string): void {
  for (const [flag, value] of [
    ['--per-second', perSecond],
    ['--per-minute', perMinute],
  ] as const) {
    if (!/^[1-9]\d*$/.test(value)) throw new CliError(`${flag} must be a positive whole number.`, EXIT_USAGE);
  }
}
