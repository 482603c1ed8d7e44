import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/**
 * A preValidation hook for actions that take no body (share, confirm, rotate a secret…): none, or
 * an empty object, as many clients send with every POST. Anything else is refused, as routes with
 * a body refuse unknown fields, so that a field sent here (a secret to rotate to, say) is never
 * silently unused.
 */
export async function refuseBody(request: FastifyRequest): Promise<void> {
  const body: unknown = request.body;
  if (body === undefined) return;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const [field] = Object.keys(body);
    if (field === undefined) return;
    throw new HttpError(400, `This request takes no body: ${field} is not a known field.`);
  }
  throw new HttpError(400, 'This request takes no body.');
}
