import type { Command } from 'commander';
import { DEFAULT_TOKEN_DAYS, describeToken } from '../../accounts/tokens.js';
import { issueAuditedToken, revokeAuditedToken } from '../../accounts/users.js';
import { CliError, EXIT_USAGE, cliContext, resolveOrg, withStore } from '../context.js';

function expiryDays(options: { expiresInDays?: string; expiry: boolean }): number | null {
  if (!options.expiry) return null;
  if (options.expiresInDays === undefined) return DEFAULT_TOKEN_DAYS;
  const days = Number(options.expiresInDays);
  if (!Number.isInteger(days) || days <= 0) throw new CliError('--expires-in-days must be a positive whole number.', EXIT_USAGE);
  return days;
}

export function tokenCommand(program: Command): void {
  const token = program.command('token').description('API tokens');
  const json = () => program.opts<{ json?: boolean }>().json === true;

  token
    .command('create')
    .description('create a token for a user and print it once')
    .option('--org <id>', 'organization (default: the only one)')
    .option('--user <id>', 'user id')
    .option('--email <email>', 'user email, instead of --user')
    .option('--expires-in-days <days>', `days until it expires (default ${DEFAULT_TOKEN_DAYS})`)
    .option('--no-expiry', 'never expires')
    .action(async (options: { org?: string; user?: string; email?: string; expiresInDays?: string; expiry: boolean }) => {
      const context = cliContext(json());
      if (!options.user === !options.email) throw new CliError('Name the user with exactly one of --user or --email.', EXIT_USAGE);
      const days = expiryDays(options);
      const issued = await withStore(context, async (store) => {
        const orgId = await resolveOrg(store, options.org);
        const user = options.user ? await store.getUser(orgId, options.user) : await store.findUserByEmail(orgId, options.email!);
        if (!user) throw new CliError(`There is no user ${options.user ?? options.email} in organization ${orgId}.`);
        return issueAuditedToken(store, null, orgId, user.id, days, context.clock.now());
      });
      const shown = describeToken(issued.token, context.clock.now());
      context.print(
        `Token ${shown.id} for user ${shown.userId}, expires ${shown.expiresAt ?? 'never'}.\n` +
          `API token (shown once, store it now):\n${issued.secret}`,
        { ...shown, token: issued.secret },
      );
    });

  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--org <id>', 'organization (default: the only one)')
    .option('--user <id>', "only this user's tokens")
    .action(async (options: { org?: string; user?: string }) => {
      const context = cliContext(json());
      const tokens = await withStore(context, async (store) => {
        const orgId = await resolveOrg(store, options.org);
        return store.listTokens(orgId, options.user);
      });
      const shown = tokens.map((t) => describeToken(t, context.clock.now()));
      const lines = shown.map(
        (t) =>
          `${t.id}  ${t.prefix}…  user ${t.userId}  created ${t.createdAt}  expires ${t.expiresAt ?? 'never'}  ` +
          `last used ${t.lastUsedAt ?? 'never'}  ${t.active ? 'active' : 'inactive'}`,
      );
      context.print(lines.length ? lines.join('\n') : 'No tokens.', shown);
    });

  token
    .command('revoke')
    .description('deactivate a token; it stops working on the next request')
    .argument('<tokenId>')
    .option('--org <id>', 'organization (default: the only one)')
    .action(async (tokenId: string, options: { org?: string }) => {
      const context = cliContext(json());
      const revoked = await withStore(context, async (store) => {
        const orgId = await resolveOrg(store, options.org);
        const found = await store.getToken(orgId, tokenId);
        if (!found) throw new CliError(`There is no token ${tokenId}.`);
        return revokeAuditedToken(store, null, orgId, found, context.clock.now());
      });
      context.print(revoked ? `Token ${tokenId} deactivated.` : `Token ${tokenId} was already inactive.`, {
        id: tokenId,
        deactivated: true,
      });
    });
}
