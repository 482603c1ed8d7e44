/** What the audit log records; every entry is one of these. A module of its own, so the console can offer the list. */
export const AUDIT_ACTIONS = [
  'sign_in',
  'sign_in_failed',
  'sign_out',
  'password_set',
  'invite_created',
  'user_created',
  'user_updated',
  'user_deactivated',
  'token_created',
  'token_revoked',
  'template_created',
  'template_updated',
  'import',
  'export',
  'changes_read',
  'identity_configured',
  'webhook_created',
  'webhook_updated',
  'webhook_deleted',
  'webhook_secret_rotated',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
