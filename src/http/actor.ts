import type { FastifyRequest } from 'fastify';
import type { Actor } from '../coaching/actor.js';
import { principalOf } from './guard.js';

/** The caller as the domain sees it; the address honours X-Forwarded-For only behind a trusted proxy. */
export function actorOf(request: FastifyRequest): Actor {
  const principal = principalOf(request);
  return { orgId: principal.orgId, user: principal.user, ipAddress: request.ip ?? null };
}
