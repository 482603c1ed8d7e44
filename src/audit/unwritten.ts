import type { FastifyBaseLogger } from 'fastify';
import type { AppMetrics } from '../http/metrics.js';
import type { AuditRecord } from '../store/accounts-store.js';
import type { Store } from '../store/store.js';

/**
 * Writes the audit entry of something already done (an export already streamed, a feed page
 * already read): a failed write cannot undo it, but it is never lost silently either. It is
 * logged, with the action and the database's message and none of the entry's details, and
 * counted in coachport_audit_write_failures_total{action}.
 */
export async function writeAuditOrReport(
  store: Pick<Store, 'writeAudit'>,
  orgId: string,
  entry: AuditRecord,
  report: { log: FastifyBaseLogger; metrics: AppMetrics },
): Promise<void> {
  try {
    await store.writeAudit(orgId, entry);
  } catch (error) {
    report.metrics.auditWriteFailed(entry.action);
    const reason = error instanceof Error ? error.message : String(error);
    report.log.error({ auditAction: entry.action, orgId, reason }, 'audit entry could not be written');
  }
}
