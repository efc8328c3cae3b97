import { Type } from 'typebox';
import { REFERENCE_SCHEMES } from '../../secrets/ref.ts';
import { inTenant } from '../../store/scope.ts';
import { route, type RouteDef } from '../route.ts';

const When = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const Text = Type.Union([Type.String(), Type.Null()]);

const BackendHealthOut = Type.Object({
  scheme: Type.Union(REFERENCE_SCHEMES.map((s) => Type.Literal(s))),
  configured: Type.Boolean(),
  resolves: Type.Integer({ minimum: 0, description: 'Successful backend fetches' }),
  failures: Type.Integer({ minimum: 0, description: 'Failed backend fetches' }),
  retries: Type.Integer({ minimum: 0, description: 'Attempts that failed transiently (reset, refused, timed out, 429/5xx) and were tried again within PROBECTL_SECRETS_TIMEOUT' }),
  cached_leases: Type.Integer({ minimum: 0, description: 'Unexpired sealed values held' }),
  last_ok: When,
  last_error: Type.Union([Type.String({ description: 'CODE: message, built from status codes; never a value, path or field' }), Type.Null()]),
  last_error_at: When,
}, { additionalProperties: false });

const TlsIdentityOut = Type.Object({
  name: Type.String(),
  fingerprint256: Text,
  not_after: When,
  loaded_at: When,
  current: Type.Boolean({ description: 'False while a renewal was refused and the previous identity is still served' }),
  reloads: Type.Integer({ minimum: 0 }),
  failures: Type.Integer({ minimum: 0 }),
  last_error: Text,
  last_error_at: When,
}, { additionalProperties: false });

const DeviceCredentialOut = Type.Object({
  name: Type.String(),
  cycles: Type.Integer({ minimum: 0 }),
  skipped: Type.Integer({ minimum: 0, description: 'Poll cycles skipped because the credential could not be resolved' }),
  last_error: Text,
  last_error_at: When,
}, { additionalProperties: false });

export const secretsHealthRoutes: RouteDef[] = [
  route({
    method: 'GET', url: '/v1/secrets/health', tags: ['secrets'], access: { anyOf: ['secrets-read'], provider: true },
    summary: 'Secret backends, TLS identities and device credentials: counters, live leases and last errors, redacted (no values, paths or field names)',
    schema: {
      response: {
        200: Type.Object({
          backends: Type.Array(BackendHealthOut),
          tls_identities: Type.Array(TlsIdentityOut),
          device_credentials: Type.Array(DeviceCredentialOut),
        }),
      },
    },
    handler: async ({ deps, principal }) => {
      const health = deps.secrets.health();
      await inTenant(deps.db, principal.tenantId, (tx) => deps.sensitiveReads.record(tx, principal, 'secrets.health.read', 'secrets', {}));
      return { body: health };
    },
  }),
];
