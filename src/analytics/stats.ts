import type { Actor } from '../coaching/actor.js';
import { invalid } from '../coaching/errors.js';
import { readScope } from '../coaching/permissions.js';
import type { StatsQuery, StatsResponse } from '../contract/stats-schemas.js';
import type { Store } from '../store/store.js';
import { statsAnswer } from './metrics.js';
import { statsRequest } from './request.js';

/** GET /api/v1/coaching/stats: the numbers over exactly the sessions the caller may read. */
export async function coachingStats(store: Store, actor: Actor, query: StatsQuery): Promise<StatsResponse> {
  const request = statsRequest(query);
  if (!request.ok) throw invalid(request.error);
  const aggregate = await store.coachingStats(actor.orgId, request.selection, readScope(actor.user));
  return statsAnswer(request.parameters, aggregate);
}
