import type { Command } from 'commander';
import { generateSeed } from '../../seed/generate.js';
import { CliError, EXIT_USAGE, cliContext, resolveOrg, withStore } from '../context.js';

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
      const plan = generateSeed({ sessions, days: positive(options.days, '--days'), seed: Number(options.seed) || 0, endMs, nowMs });
      const counts = await withStore(context, async (store) => store.applyImport(await resolveOrg(store, options.org), plan, nowMs));
      const seconds = (Date.now() - started) / 1000;
      context.print(
        `Seeded ${counts.sessions} sessions, ${counts.coachingPoints} coaching points, ${counts.todos} to-dos ` +
          `and ${counts.users} people in ${seconds.toFixed(1)} s (${Math.round(counts.sessions / seconds)} sessions/s).`,
        { seeded: counts, seconds },
      );
    });
}
