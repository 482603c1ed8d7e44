/** A request the domain refuses, with a sentence for the caller; the HTTP layer picks the status. */
export class DomainError extends Error {
  constructor(
    readonly kind: 'invalid' | 'forbidden' | 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new DomainError('not_found', `There is no ${what} ${JSON.stringify(id)}.`);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const invalid = (message: string) => new DomainError('invalid', message);
