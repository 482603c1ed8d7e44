/**
 * `coachport import` runs in a process tuned for it: measured on a 100,000-session import, Node's
 * defaults let the main thread's young generation grow to 64 MB (V8 sizes it for the machine, and
 * every batch the reading thread hands over is allocated there first) and glibc give each of the
 * import's threads malloc arenas of their own, about 100 MB of the peak between them. Neither can
 * be changed once the process runs, so the import replaces its process (same PID, same standard
 * streams) with the same command under a small young generation and two arenas, before anything
 * else has loaded. A flag or variable the person set already is left as they set it; where
 * `process.execve` is missing (Windows, Node before 22.15) the import runs as it is, only larger.
 */
import process from 'node:process';

/** V8's semi-space, in MB: its young generation is about three of them. */
export const IMPORT_SEMI_SPACE_MB = 1;
export const IMPORT_MALLOC_ARENAS = '2';

const SEMI_SPACE_FLAG = '--max-semi-space-size';

/** The command of a command line: its first argument that is not an option (the only global option, --json, takes no value). */
function commandOf(args: readonly string[]): string | undefined {
  return args.find((arg) => !arg.startsWith('-'));
}

export interface TunedProcess {
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * The arguments and environment of the tuned import for a process started with `execArgv` and
 * `argv`, or null when it is no import or is tuned already (by this, or by the person's own flag).
 */
export function tunedImport(argv: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv): TunedProcess | null {
  if (commandOf(argv.slice(2)) !== 'import') return null;
  if (execArgv.some((arg) => arg.startsWith(SEMI_SPACE_FLAG)) || (env.NODE_OPTIONS ?? '').includes(SEMI_SPACE_FLAG)) return null;
  return {
    args: [...execArgv, `${SEMI_SPACE_FLAG}=${IMPORT_SEMI_SPACE_MB}`, ...argv.slice(1)],
    env: { ...env, MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? IMPORT_MALLOC_ARENAS },
  };
}

/** Replaces this process with the tuned import when it is an import not tuned yet; otherwise returns. */
export function execTunedImport(): void {
  const tuned = tunedImport(process.argv, process.execArgv, process.env);
  if (!tuned || typeof process.execve !== 'function') return;
  try {
    process.execve(process.execPath, [process.execPath, ...tuned.args], tuned.env);
  } catch {
    // The process could not be replaced (it is unchanged then): the import runs untuned.
  }
}
