import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { orgCommand } from './commands/org.js';
import { seedCommand } from './commands/seed.js';
import { serveCommand } from './commands/serve.js';
import { tokenCommand } from './commands/token.js';
import { userCommand } from './commands/user.js';
import { CliError, EXIT_USAGE } from './context.js';

const program = new Command('coachport')
  .description('Coachport: coaching sessions and the Coaching Export API')
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError()
  .exitOverride();

serveCommand(program);
orgCommand(program);
tokenCommand(program);
userCommand(program);
importCommand(program);
exportCommand(program);
seedCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
  } else if (error instanceof CliError || error instanceof ConfigError) {
    process.stderr.write(`coachport: ${error.message}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : EXIT_USAGE;
  } else {
    process.stderr.write(`coachport: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
