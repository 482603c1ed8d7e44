import type { UserRecord } from './records.js';

/** Who is acting, for permissions and for the activity log. */
export interface Actor {
  orgId: string;
  user: UserRecord;
  ipAddress: string | null;
}
