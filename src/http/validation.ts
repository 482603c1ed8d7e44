import type { FastifySchemaCompiler } from 'fastify';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { describeValueError } from '../contract/describe-error.js';
import { HttpError } from './errors.js';

const ROOT_NAMES: Record<string, string> = {
  body: 'The request body',
  querystring: 'The query string',
  params: 'The URL',
  headers: 'The request headers',
};

/**
 * Validates with the same TypeBox schemas that document the API, and reports the first
 * problem as one sentence naming the field.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const root = ROOT_NAMES[httpPart ?? 'body'] ?? 'The request';
  return (value: unknown) => {
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First();
    return { error: new HttpError(400, first ? describeValueError(first, root) : `${root} is not valid.`) };
  };
};
