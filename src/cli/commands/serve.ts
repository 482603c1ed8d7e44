import type { Command } from 'commander';
import { loadConfig } from '../../config.js';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP service (configured by environment variables)')
    .action(async () => {
      // Loaded here, not with the command line: the other commands (an export above all) start
      // without the server's modules.
      const { startServer } = await import('../../server.js');
      const server = await startServer(loadConfig());
      server.app.log.info({ url: server.url, node: process.version }, 'coachport is serving');
      const stop = (signal: string) => {
        server.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            server.app.log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
