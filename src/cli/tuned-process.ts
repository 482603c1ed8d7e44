/**
 * Two commands run in a process tuned for them, set up before anything else has loaded: what V8 and
 * glibc size for the machine cannot be changed once the process runs, so the command replaces its
 * process (`process.execve`: the same PID, the same standard streams) with the same command under
 * the settings below. A setting the person made themselves is kept; where `process.execve` is
 * missing (Windows, Node before 22.15) the command runs as it is.
 *
 * `coachport import`: measured on a 100,000-session import, Node's defaults let the main thread's
 * young generation grow to 64 MB (V8 sizes it for the machine, and every batch the reading thread
 * hands over is allocated there first) and glibc give each of the import's threads malloc arenas of
 * their own, about 100 MB of the peak between them. An import started with a young generation of
 * its own (`--max-semi-space-size`) runs as started, and a malloc variable already set is kept.
 *
 * `coachport serve`: glibc's malloc thresholds fixed (SERVE_MALLOC), unless the person set either or
 * any malloc setting in `GLIBC_TUNABLES`.
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

/**
 * glibc's malloc settings for the server, where an export thread reads pages of about a megabyte
 * (document-pages.ts) that SQLite assembles in one block and better-sqlite3 copies into another.
 * Left to itself glibc maps each such block on its own and unmaps it when freed, or, once its
 * dynamic threshold has risen past them, gives the freed top of the thread's heap back to the
 * kernel at 2× that threshold: either way every page comes back as a fresh page fault with a
 * zeroed page, most of the export thread's CPU (perf, 20,000 sessions: page faults and unmapping
 * were half of its samples). Fixed at 2 MiB, blocks under it come from the thread's heap, and up
 * to 16 MiB freed at its top is kept for the next page, under the 32 and 64 MiB the dynamic
 * thresholds reach. Measured by curl over 30 exports of 93.5 MB: the other threads' CPU 39–45 →
 * 25–27 ms an export, 1,480–1,950 → 2,240–2,490 MB/s, the same peak RSS (docs/performance.md).
 */
export const SERVE_MALLOC: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '2097152', MALLOC_TRIM_THRESHOLD_: '16777216' };

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
 * The arguments and environment of the tuned command for a process started with `execArgv` and
 * `argv`, or null when it is neither an import nor a server, or is tuned already (by this, or by the
 * person's own settings).
 */
export function tunedProcess(argv: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv): TunedProcess | null {
  const command = commandOf(argv.slice(2));
  if (command === 'serve') {
    const ownMalloc = Object.keys(SERVE_MALLOC).some((name) => env[name] !== undefined) || /glibc\.malloc\./.test(env.GLIBC_TUNABLES ?? '');
    if (ownMalloc) return null;
    return { args: [...execArgv, ...argv.slice(1)], env: { ...SERVE_MALLOC, ...env } };
  }
  if (command !== 'import') return null;
  if (semiSpaceFlagMb(execArgv, env) !== null) return null;
  return {
    args: [...execArgv, `${SEMI_SPACE_FLAG}=${IMPORT_SEMI_SPACE_MB}`, ...argv.slice(1)],
    env: { ...IMPORT_MALLOC, ...env },
  };
}

/** Replaces this process with the tuned import or server when it is one not tuned yet; otherwise returns. */
export function execTunedProcess(): void {
  const tuned = tunedProcess(process.argv, process.execArgv, process.env);
  if (!tuned || typeof process.execve !== 'function') return;
  try {
    process.execve(process.execPath, [process.execPath, ...tuned.args], tuned.env);
  } catch {
    // The process could not be replaced (it is unchanged then): the command runs untuned.
  }
}
