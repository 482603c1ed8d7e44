import type { SessionAction } from './event-types.js';

/**
 * The mails of SPEC §11 and what each carries in the outbox. An invite's link is a secret: it is
 * kept only until its mail is sent or given up, then wiped.
 */
export type QueuedMail =
  | { kind: 'invite'; link: string; inviterName: string | null; inviterLanguage: string | null }
  | { kind: 'session_shared'; sessionId: string }
  | { kind: 'agent_confirmed'; sessionId: string };

export type MailKind = QueuedMail['kind'];

/** Who hears of a session change by mail: the agent when it is shared with them, the coach when the agent confirms. */
export function mailForAction(action: string): { kind: 'session_shared' | 'agent_confirmed'; recipient: 'agent' | 'coach' } | null {
  const rules: Partial<Record<SessionAction, { kind: 'session_shared' | 'agent_confirmed'; recipient: 'agent' | 'coach' }>> = {
    shared: { kind: 'session_shared', recipient: 'agent' },
    agent_confirmed: { kind: 'agent_confirmed', recipient: 'coach' },
  };
  return rules[action as SessionAction] ?? null;
}
