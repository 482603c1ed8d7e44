import v8 from 'node:v8';
import type { Command } from 'commander';
import { groupedDigits } from '../../digits.js';
import { generateSeed } from '../../seed/generate.js';
import { ImportCommittedWithStaleNames } from '../../store/store.js';
import { CliError, EXIT_USAGE, cliContext, resolveOrg, withStore } from '../context.js';
import { sayStaleNames } from '../stale-names.js';

/**
 * The heap one seeded session takes, with room to spare: the seed makes its whole plan (about 6 KB
 * a session, measured at 100,000 and 300,000) and renders every document (about as much again)
 * before it writes, in one transaction. Past what the process's heap holds it would end in V8's
 * out-of-memory crash (1,000,000 sessions did, in Node's default 4 GB heap), so it is refused
 * first. Measured at the bound: 211,000 sessions seeded in the default heap (the bound is now
 * about 175,000), and the bound itself in heaps of 64 and 128 MB.
 */
const SEED_HEAP_BYTES_PER_SESSION = 24 * 1024;
/** What the rest of the process (the store, its statements, the collector's own room) keeps beside the seed. */
const SEED_HEAP_RESERVE_BYTES = 96 * 1024 * 1024;

/** The most sessions one seed may make in what this process's heap has left. */
function mostSeededSessions(): number {
  const { heap_size_limit: limit, used_heap_size: used } = v8.getHeapStatistics();
  return Math.floor(Math.max(0, limit - used - SEED_HEAP_RESERVE_BYTES) / SEED_HEAP_BYTES_PER_SESSION);
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} must be a positive whole number.`, EXIT_USAGE);
  return n;
}

export function seedCommand(program: Command): void {
  program
    .command('seed')
    .description('fill an organization with realistic demo data (reproducible with --seed)')
    .option('--org <id>', 'organization (default: the only one)')
    .option('--sessions <n>', 'how many coaching sessions', '1000')
    .option('--days <d>', 'spread over this many days, ending today (or --end)', '90')
    .option('--end <day>', 'the last day, YYYY-MM-DD (default: today, UTC)')
    .option('--seed <s>', 'random seed', '1')
    .action(async (options: { org?: string; sessions: string; days: string; end?: string; seed: string }) => {
      const context = cliContext(program.opts<{ json?: boolean }>().json === true);
      const endMs = options.end ? Date.parse(`${options.end}T00:00:00.000Z`) : context.clock.now();
      if (Number.isNaN(endMs)) throw new CliError('--end must be a day in YYYY-MM-DD form.', EXIT_USAGE);
      const nowMs = context.clock.now();
      if (endMs > nowMs) throw new CliError('--end must not be after today: demo data never happens in the future.', EXIT_USAGE);
      const started = Date.now();
      const sessions = positive(options.sessions, '--sessions');
      const most = mostSeededSessions();
      if (sessions > most) {
        throw new CliError(
          `--sessions ${groupedDigits(sessions)} is more than one seed makes in this process's memory (at most ${groupedDigits(most)}, ` +
            'made whole before it is written). Seed again with another --seed to add more, or give Node a larger heap: ' +
            "NODE_OPTIONS='--max-old-space-size=16384'.",
          EXIT_USAGE,
        );
      }
      const plan = generateSeed({ sessions, days: positive(options.days, '--days'), seed: Number(options.seed) || 0, endMs, nowMs });
      let stale: string | null = null;
      const counts = await withStore(context, async (store) =>
        store.applyImport(await resolveOrg(store, options.org), plan, nowMs).catch((error: unknown) => {
          // Seeded whole: the people it renamed may show as they were in sessions written meanwhile.
          if (!(error instanceof ImportCommittedWithStaleNames) || typeof error.result === 'number') throw error;
          stale = error.message;
          return error.result;
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      context.print(
        `Seeded ${counts.sessions} sessions, ${counts.coachingPoints} coaching points, ${counts.todos} to-dos ` +
          `and ${counts.users} people in ${seconds.toFixed(1)} s (${Math.round(counts.sessions / seconds)} sessions/s).`,
        { seeded: counts, seconds },
      );
      sayStaleNames(context, stale);
    });
}
