import type { StoreOpenOptions } from '../store/read-model-version.js';
import { systemClock, type Clock } from '../clock.js';
import { loadConfig, type Config } from '../config.js';
import type { Store } from '../store/store.js';

/** A command's failure with a message for the person at the terminal, and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const EXIT_USAGE = 2;

export interface CliContext {
  config: Config;
  clock: Clock;
  json: boolean;
  /** The command's result on stdout: the human line, or with --json the data as one JSON object. */
  print(human: string, data: unknown): void;
  /** Progress or a warning on stderr, likewise (see `stderrLine`). */
  tell(human: string, data: Record<string, unknown>): void;
}

/**
 * A line on stderr: for the person at the terminal, or with --json the same as one JSON object, so
 * that under --json every line of stderr parses (progress, warnings, and errors, see main.ts).
 */
export function stderrLine(json: boolean, human: string, data: Record<string, unknown>): void {
  process.stderr.write(json ? `${JSON.stringify(data)}\n` : `${human}\n`);
}

export function cliContext(json: boolean): CliContext {
  return {
    config: loadConfig(),
    clock: systemClock,
    json,
    print(human, data) {
      process.stdout.write(json ? `${JSON.stringify(data)}\n` : `${human}\n`);
    },
    tell: (human, data) => stderrLine(json, human, data),
  };
}

/** Opens the store the server would use (same variables, same directory), runs, closes. */
export async function withStore<T>(
  context: CliContext,
  run: (store: Store) => Promise<T>,
  options: Pick<StoreOpenOptions, 'backgroundCheckpoints' | 'withoutWal'> = {},
): Promise<T> {
  // Loaded here, so commands that never open the store (export, sync) start without its drivers.
  const { openStore } = await import('../store/open.js');
  const store = await openStore(context.config.database, { mail: context.config.events.smtpUrl !== null, ...options });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/** The organization a command acts on: the one named, or the only one there is. */
export async function resolveOrg(store: Store, orgId: string | undefined): Promise<string> {
  const orgs = await store.listOrganizations();
  if (orgId !== undefined) {
    if (!orgs.some((org) => org.id === orgId)) throw new CliError(`There is no organization ${orgId}.`);
    return orgId;
  }
  if (orgs.length === 1) return orgs[0]!.id;
  throw new CliError(
    orgs.length === 0
      ? 'There is no organization yet; create one with `coachport org create --name N --admin-email E`.'
      : `There are ${orgs.length} organizations; name one with --org.`,
    EXIT_USAGE,
  );
}
