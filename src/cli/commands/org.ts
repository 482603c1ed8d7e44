import type { Command } from 'commander';
import { createOrganization } from '../../accounts/organizations.js';
import { cliContext, withStore } from '../context.js';

export function orgCommand(program: Command): void {
  const org = program.command('org').description('organizations');
  org
    .command('create')
    .description("create an organization with its first admin, and print that admin's token and invite link once")
    .requiredOption('--name <name>', 'organization name')
    .requiredOption('--admin-email <email>', 'email of the first admin')
    .option('--admin-name <name>', "name of the first admin (default: the email's local part)")
    .action(async (options: { name: string; adminEmail: string; adminName?: string }) => {
      const context = cliContext(program.opts<{ json?: boolean }>().json === true);
      const created = await withStore(context, (store) =>
        createOrganization(
          store,
          { name: options.name, adminEmail: options.adminEmail, adminName: options.adminName, publicUrl: context.config.publicUrl },
          context.clock.now(),
        ),
      );
      context.print(
        [
          `Organization ${created.orgId} created with admin ${created.userId}.`,
          'API token (shown once, store it now):',
          created.token,
          'Console invite link for the admin (works once, for 7 days):',
          created.inviteUrl,
        ].join('\n'),
        created,
      );
    });
}
