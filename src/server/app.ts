import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { SecureContextOptions } from 'node:tls';
import { ProbectlError, type ErrorCode } from '../core/errors.ts';
import { parseJsonBytes } from '../core/json-input.ts';
import type { Principal } from '../identity/permissions.ts';
import type { AppDeps } from './deps.ts';
import type { MountedRoute } from './routes/index.ts';
import { ErrorBody } from './schemas.ts';
import { checkUrlInput } from './url-input.ts';
import { describeValidation, validatorCompiler } from './validation.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface AppOptions {
  /** TLS identity; undefined serves plain HTTP (loopback only, checked by config). */
  tls?: SecureContextOptions & { SNICallback?: (servername: string, cb: (err: Error | null, ctx?: import('node:tls').SecureContext) => void) => void };
  /** Every route with how its handler gets its dependencies (server/routes/index.ts). */
  routes: readonly MountedRoute[];
  version: string;
}

function sourceOf(req: FastifyRequest): string {
  return req.socket.remoteAddress ?? 'local';
}

function errorReply(reply: FastifyReply, code: ErrorCode, status: number, message: string, extra?: Record<string, unknown>) {
  return reply.code(status).type('application/json').send({ code, message, ...(extra ?? {}) });
}

/** JSON is UTF-8 (RFC 8259 §8.1): a body declared in another charset is refused, never reinterpreted. */
function refuseNonUtf8Charset(contentType: string | undefined): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ProbectlError('PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE', `JSON bodies must be UTF-8; charset=${JSON.stringify(charset)} is not accepted`);
  }
}

export async function buildApp(deps: AppDeps, opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: 120_000,
    ...(opts.tls ? { https: { ...opts.tls, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);

  app.setErrorHandler((err: FastifyError & { validationContext?: string }, req, reply) => {
    if (err instanceof ProbectlError) {
      if (err.status >= 500) req.log.error({ err: { code: err.code, message: err.message } }, 'request failed');
      return errorReply(reply, err.code, err.status, err.message, err.details);
    }
    if (err.validation) return errorReply(reply, 'PROBECTL_ERR_VALIDATION', 400, describeValidation(err.validationContext, err.validation));
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return errorReply(reply, 'PROBECTL_ERR_BODY_TOO_LARGE', 413, `request body exceeds ${deps.config.bodyLimit} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return errorReply(reply, 'PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE', 415, 'unsupported content type; send application/json');
      default:
        break;
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return errorReply(reply, 'PROBECTL_ERR_VALIDATION', err.statusCode, 'bad request');
    }
    req.log.error({ err }, 'unhandled error');
    return errorReply(reply, 'PROBECTL_ERR_INTERNAL', 500, 'internal error; see the server log');
  });

  // The one JSON boundary for every route: bounded, non-recursive, refusing what
  // PostgreSQL would refuse or what would be stored changed (src/core/json-input.ts).
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      refuseNonUtf8Charset(req.headers['content-type']);
      done(null, parseJsonBytes(body as Buffer, { subject: 'request body' }));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // JSON routes take JSON only: Fastify's built-in text/plain parser would hand a string to the schema
  // ("body must be object") where the answer is the content type (415).
  app.removeContentTypeParser('text/plain');
  // Query strings and path parameters: the URL half of the same boundary.
  app.addHook('preValidation', async (req) => checkUrlInput(req.url, req.params));

  app.setNotFoundHandler((req, reply) => errorReply(reply, 'PROBECTL_ERR_NOT_FOUND', 404, `no route ${req.method} ${req.url.split('?')[0]}`));

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    if (opts.tls) reply.header('strict-transport-security', 'max-age=31536000');
  });

  app.addHook('onResponse', async (req, reply) => {
    const routeLabel = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route: routeLabel, method: req.method, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ route: routeLabel, method: req.method }, reply.elapsedTime / 1000);
    req.log.info({ method: req.method, route: routeLabel, status: reply.statusCode, ms: Math.round(reply.elapsedTime), tenant: req.principal?.tenantId }, 'request');
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'probectl API', version: opts.version, description: 'probectl ecosystem-integration plane. Every route but the operational probes needs a token; errors are JSON {code, message}.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API token' },
          basic: { type: 'http', scheme: 'basic', description: 'Any user name, the API token as password (Grafana datasources)' },
        },
      },
    },
  });

  for (const mounted of opts.routes) {
    if (mounted.def.raw) await app.register(async (scope) => registerRawRoute(scope, deps, mounted));
    else registerRoute(app, deps, mounted);
  }

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/**
 * A route whose body is read as raw bytes (remote-write, signed webhooks): in
 * its own scope, every content type is taken as a Buffer of at most
 * `raw.limit` bytes (413 beyond); a content type the route does not list is
 * 415. Access still runs first (onRequest), before the body is read.
 */
async function registerRawRoute(scope: FastifyInstance, deps: AppDeps, mounted: MountedRoute): Promise<void> {
  const raw = mounted.def.raw as NonNullable<MountedRoute['def']['raw']>;
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: raw.limit }, (req, body, done) => {
    const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (raw.contentTypes.length > 0 && !raw.contentTypes.includes(type)) {
      done(new ProbectlError('PROBECTL_ERR_UNSUPPORTED_MEDIA_TYPE', `unsupported content type; send ${raw.contentTypes.join(' or ')}`), undefined);
      return;
    }
    done(null, body);
  });
  scope.setErrorHandler(async (err: FastifyError, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      await raw.onTooLarge?.({ deps: mounted.deps(deps), params: req.params, headers: req.headers, source: sourceOf(req) }).catch((hookErr: unknown) => req.log.error({ err: (hookErr as Error).message }, 'onTooLarge hook failed'));
      return errorReply(reply, 'PROBECTL_ERR_BODY_TOO_LARGE', 413, `request body exceeds ${raw.limit} bytes`);
    }
    throw err;
  });
  registerRoute(scope, deps, mounted);
}

function registerRoute(app: FastifyInstance, deps: AppDeps, mounted: MountedRoute): void {
  const def = mounted.def;
  const handlerDeps = mounted.deps(deps);
  const access = def.access;
  const isPublic = 'public' in access;
  const errorResponses = isPublic ? {} : { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
  app.route({
    method: def.method,
    url: def.url,
    schema: {
      ...def.schema,
      response: { ...errorResponses, ...(def.schema.response ?? {}) },
      summary: def.summary,
      tags: [...def.tags],
      ...(isPublic ? {} : { security: [{ bearer: [] }, { basic: [] }] }),
    },
    // Authentication and authorization run before the body is parsed or validated:
    // an unauthenticated caller learns nothing about what a valid body looks like.
    onRequest: async (req) => {
      if ('public' in access) return;
      const source = sourceOf(req);
      const principal = await deps.auth.authenticate(req.headers.authorization, source);
      if (access.provider && principal.tenantId !== deps.providerTenantId) {
        throw new ProbectlError('PROBECTL_ERR_FORBIDDEN', 'this route is reserved to the provider tenant');
      }
      await deps.auth.authorize(principal, access.anyOf, `${def.method} ${def.url}`, source);
      req.principal = principal;
    },
    handler: async (req, reply) => {
      const gone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      const result = await def.handler({
        deps: handlerDeps,
        principal: req.principal as Principal,
        body: req.body as never,
        query: req.query as never,
        params: req.params as never,
        source: sourceOf(req),
        headers: req.headers,
        signal: gone.signal,
      });
      reply.code(result.status ?? 200);
      if (result.headers) reply.headers(result.headers);
      if (result.contentType) reply.type(result.contentType);
      return result.body;
    },
  });
}
