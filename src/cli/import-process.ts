/**
 * `coachport import` runs in a process tuned for it: measured on a 100,000-session import, Node's
 * defaults let the main thread's young generation grow to 64 MB (V8 sizes it for the machine, and
 * every batch the reading thread hands over is allocated there first) and glibc give each of the
 * import's threads malloc arenas of their own, about 100 MB of the peak between them. Neither can
 * be changed once the process runs, so the import replaces its process (same PID, same standard
 * streams) with the same command under a small young generation and the malloc settings below,
 * before anything else has loaded. An import started with a young generation of its own
 * (`--max-semi-space-size`) runs as started, and a malloc variable already set is kept; where
 * `process.execve` is missing (Windows, Node before 22.15) the import runs as it is, only larger.
 */
import process from 'node:process';

/** V8's semi-space, in MB: its young generation is about three of them. */
export const IMPORT_SEMI_SPACE_MB = 1;
/**
 * glibc's malloc settings, each unless the person set it: four arenas, and a fixed mmap threshold.
 * glibc raises the threshold up to 32 MB once a large block is freed, after which the batches the
 * reading thread hands over (several MB each, allocated on one thread and freed on the other) came
 * from the main arena and fragmented it: a 1,000,000-session import grew by 200 MB in steps
 * without it, and stays flat with it (a block of 128 KiB or more is its own mapping, given back
 * when freed). Four arenas, not glibc's eight a core: with two, the threads (the import's two,
 * SQLite's, V8's) waited on each other's malloc locks, and 100,000 sessions took 28–29 s against
 * 23.7–25.3 s with four, at the same peak (200–208 MB).
 */
export const IMPORT_MALLOC: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '131072' };

export const SEMI_SPACE_FLAG = '--max-semi-space-size';

/**
 * The process's last `--max-semi-space-size=N` (or V8's `--max_semi_space_size=N`), in `NODE_OPTIONS`
 * or on its command line (which Node applies after), in MB; null when none; Infinity for the flag
 * with its value in the next argument (set, its size not read).
 */
export function semiSpaceFlagMb(execArgv: readonly string[], env: NodeJS.ProcessEnv = {}): number | null {
  let mb: number | null = null;
  for (const arg of [...(env.NODE_OPTIONS ?? '').split(/\s+/), ...execArgv]) {
    const match = /^--max[-_]semi[-_]space[-_]size(?:=(\d+(?:\.\d+)?))?$/.exec(arg);
    if (match) mb = match[1] === undefined ? Number.POSITIVE_INFINITY : Number(match[1]);
  }
  return mb;
}

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
  if (semiSpaceFlagMb(execArgv, env) !== null) return null;
  return {
    args: [...execArgv, `${SEMI_SPACE_FLAG}=${IMPORT_SEMI_SPACE_MB}`, ...argv.slice(1)],
    env: { ...IMPORT_MALLOC, ...env },
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
