import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { CliError, EXIT_USAGE, stderrLine } from './context.js';

/**
 * `--json`, before or after the command (commander takes the program's options anywhere), known
 * before the line is parsed: under it every line on stderr is one JSON object, commander's own
 * usage errors (a missing or unknown option) and Node's warnings too, and no help follows an error.
 */
const json = process.argv.slice(2).includes('--json');
const program = new Command('coachport')
  .description('Coachport: coaching sessions and the Coaching Export API')
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError(!json)
  .exitOverride();
if (json) {
  // Set before the commands are added: each takes its output settings from the program then.
  program.configureOutput({ outputError: (text) => stderrLine(true, '', { error: text.replace(/^error: /, '').trim() }) });
  process.removeAllListeners('warning');
  process.on('warning', (warning) => stderrLine(true, '', { warning: warning.message, name: warning.name }));
}

type Register = (program: Command) => void;
/** Each command's module, in the order help lists them. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  org: async () => (await import('./commands/org.js')).orgCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
  user: async () => (await import('./commands/user.js')).userCommand,
  import: async () => (await import('./commands/import.js')).importCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  seed: async () => (await import('./commands/seed.js')).seedCommand,
  backup: async () => (await import('./commands/backup.js')).backupCommand,
  sync: async () => (await import('./commands/sync.js')).syncCommand,
};
// Only the command named is loaded, so `coachport export` starts without the store, the SQLite
// driver and the schema builder the others need (70 ms less); anything else (help, a global
// option first, a misspelt command) loads them all.
const named = process.argv[2];
const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
for (const register of await Promise.all(wanted.map((name) => COMMANDS[name]!()))) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
  } else if (error instanceof CliError || error instanceof ConfigError) {
    failed(error.message);
    process.exitCode = error instanceof CliError ? error.exitCode : EXIT_USAGE;
  } else {
    failed(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}

/** A command's failure on stderr: one line for a person, or with --json one JSON object as the API answers it. */
function failed(message: string): void {
  stderrLine(json, `coachport: ${message}`, { error: message });
}
