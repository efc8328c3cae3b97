import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS; its default export is the plugin function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  // Bodies are validated strictly: no type coercion and unknown fields refused
  // (additionalProperties: false), never silently stripped.
  const ajv = new Ajv({ coerceTypes: coerce ? 'array' : false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const urlAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : urlAjv;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

export function describeValidation(context: string | undefined, errors: readonly Partial<ErrorObject>[]): string {
  const first = errors[0];
  if (!first) return `${context ?? 'request'} is invalid`;
  const where = `${context ?? 'request'}${first.instancePath ?? ''}`;
  if (first.keyword === 'additionalProperties') return `${where} has an unknown field ${JSON.stringify((first.params as { additionalProperty?: string } | undefined)?.additionalProperty)}`;
  return `${where} ${first.message ?? 'is invalid'}`;
}
