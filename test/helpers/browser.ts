import type { Reply, TestServer } from './server.js';

/** The console's side of the conversation: a cookie and a CSRF token, as a browser would keep them. */
export interface BrowserSession {
  cookie: string;
  csrfToken: string;
}

/** The `coachport_session` Set-Cookie header of a reply, or null. */
export function sessionSetCookie(reply: Reply): string | null {
  return reply.headers.getSetCookie().find((c) => c.startsWith('coachport_session=')) ?? null;
}

export function sessionOf(reply: Reply): BrowserSession {
  const header = sessionSetCookie(reply);
  if (!header) throw new Error(`no session cookie in ${reply.status} ${reply.text}`);
  return { cookie: header.split(';')[0]!, csrfToken: reply.json.csrfToken };
}

export function inviteSecret(inviteUrl: string): string {
  return inviteUrl.split('/invite/')[1]!;
}

/** A request the way the console sends it: the cookie, and for writes the CSRF header. */
export function asBrowser(server: TestServer, session: BrowserSession) {
  return (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    server.request(method, path, {
      body,
      headers: { cookie: session.cookie, ...(method === 'GET' ? {} : { 'x-csrf-token': session.csrfToken }), ...headers },
    });
}

export const PASSWORD = 'correct horse battery';

/** A user created by an admin token, who then sets a password through their invite link. */
export async function userWithPassword(
  server: TestServer,
  adminToken: string,
  role: 'admin' | 'coach' | 'agent',
  password = PASSWORD,
): Promise<{ userId: string; email: string; session: BrowserSession }> {
  const email = `${role}-${Math.random().toString(36).slice(2)}@example.test`;
  const created = await server.request('POST', '/api/v1/users', { token: adminToken, body: { email, name: `A ${role}`, role } });
  if (created.status !== 201) throw new Error(`create user: ${created.status} ${created.text}`);
  const accepted = await server.request('POST', `/api/v1/auth/invites/${inviteSecret(created.json.inviteUrl)}`, { body: { password } });
  if (accepted.status !== 200) throw new Error(`accept invite: ${accepted.status} ${accepted.text}`);
  return { userId: created.json.id, email, session: sessionOf(accepted) };
}

export function signIn(server: TestServer, email: string, password: string, headers: Record<string, string> = {}) {
  return server.request('POST', '/api/v1/auth/sign-in', { body: { email, password }, headers });
}
