import { Type } from 'typebox';
import { ProbectlError } from '../../core/errors.ts';
import { requireTenant, tenantList } from '../../identity/admin.ts';
import { rotateTenant, type TenantRotation } from '../../store/sealed.ts';
import { inTenant } from '../../store/scope.ts';
import { needs, route, type RouteDef } from '../route.ts';
import { Uuid } from '../schemas.ts';

const Counts = { resealed: Type.Integer(), sealed: Type.Integer() };
const RotationOut = Type.Object({
  current_key: Type.String(), previous_key: Type.Union([Type.String(), Type.Null()]), ...Counts,
  tenants: Type.Array(Type.Object({
    tenant: Uuid, ...Counts,
    columns: Type.Array(Type.Object({ table: Type.String(), column: Type.String(), ...Counts })),
  })),
});

/**
 * POST /v1/keys/rotate (docs/encryption.md): re-seals, tenant by tenant, every
 * encrypted value not under PROBECTL_ENCRYPTION_KEY (under the previous key,
 * or plaintext from before encryption) and answers the counts. Idempotent and
 * resumable (store/sealed.ts rotateTenant). Provider-admin only; the run is
 * audited in the caller's chain (`keys.rotate`), also when it stops on a row
 * sealed with an unknown key (PROBECTL_ERR_ENCRYPTION_KEY_UNKNOWN) or one that
 * does not authenticate (PROBECTL_ERR_ENCRYPTION_DECRYPT).
 */
export const keyRoutes: RouteDef[] = [
  route({
    method: 'POST', url: '/v1/keys/rotate', summary: 'Re-encrypt every stored encrypted value under the current key (PROBECTL_ENCRYPTION_KEY), tenant by tenant; answers the counts', tags: ['identity'],
    access: needs('provider-admin'),
    schema: {
      body: Type.Object({ tenant: Type.Optional(Uuid) }, { additionalProperties: false }),
      response: { 200: RotationOut },
    },
    handler: async ({ deps, principal, body }) => {
      const keyring = deps.db.keyring;
      if (!keyring) throw new ProbectlError('PROBECTL_ERR_ENCRYPTION_UNCONFIGURED', 'this server opened its database without an encryption key');
      if (body.tenant !== undefined) await requireTenant(deps, body.tenant);
      const tenants = body.tenant !== undefined ? [body.tenant] : (await tenantList(deps)).map((t) => t.id);
      const done: TenantRotation[] = [];
      const keys = { current_key: keyring.current.id, previous_key: keyring.previous?.id ?? null };
      const total = () => ({ resealed: done.reduce((n, t) => n + t.resealed, 0), sealed: done.reduce((n, t) => n + t.sealed, 0) });
      const audit = (outcome: 'success' | 'failure', extra: Record<string, unknown>) => inTenant(deps.db, principal.tenantId, (tx) => deps.audit(tx, deps.clock, {
        actor: principal.actor, action: 'keys.rotate', target: 'keys', outcome, data: { ...keys, tenants: done.length, ...total(), ...extra },
      }));
      try {
        for (const tenant of tenants) done.push(await rotateTenant(deps.db, tenant));
      } catch (err) {
        await audit('failure', { error: (err as Error).message.slice(0, 500) });
        throw err;
      }
      await audit('success', {});
      return { body: { ...keys, ...total(), tenants: done } };
    },
  }),
];
