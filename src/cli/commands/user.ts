import type { Command } from 'commander';
import { normalizeEmail } from '../../accounts/sign-in.js';
import { inviteUser } from '../../accounts/users.js';
import { DomainError } from '../../coaching/errors.js';
import { CliError, cliContext, resolveOrg, withStore } from '../context.js';

export function userCommand(program: Command): void {
  const user = program.command('user').description("people's accounts");
  user
    .command('invite')
    .description('print a new one-time link with which a user sets their password (also the password reset)')
    .requiredOption('--email <email>', "the user's email")
    .option('--org <id>', 'organization (default: the only one)')
    .action(async (options: { email: string; org?: string }) => {
      const context = cliContext(program.opts<{ json?: boolean }>().json === true);
      const invited = await withStore(context, async (store) => {
        const orgId = await resolveOrg(store, options.org);
        const found = await store.findUserByEmail(orgId, normalizeEmail(options.email));
        if (!found) {
          throw new CliError(
            `There is no user with the email ${options.email} in organization ${orgId}; ` +
              "create them first (POST /api/v1/users, or the console's Users page), which also gives their link.",
          );
        }
        try {
          return {
            userId: found.id,
            email: found.email,
            inviteUrl: await inviteUser(store, null, orgId, found.id, context.config.publicUrl, context.clock.now()),
          };
        } catch (error) {
          if (error instanceof DomainError) throw new CliError(error.message);
          throw error;
        }
      });
      context.print(`Invite link for ${invited.email} (works once, for 7 days; older links stop working):\n${invited.inviteUrl}`, invited);
    });
}
