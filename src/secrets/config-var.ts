import { parseSecretRef, redactRef, SecretRefError, type SecretRef, type SecretScheme } from './ref.ts';
import { VarProblem, type VarSpec } from '../config/vars.ts';

const ANY_REFERENCE = 'a literal value or a reference: env:NAME, vault:<mount>/<path>#<field>, cyberark:<query>#<field>, aws:<id>[#field], azure:<vault>/<name>[/<version>], gcp:<project>/<secret>[/<version>], literal:<value>';

/**
 * A credential variable: the value may be a secret reference (`vault:…`,
 * `env:…`, …) or a literal. Parsing never keeps the raw text in an error, and
 * `show` prints the redacted reference (or `[literal]`), never a value.
 * `backendCredential` restricts it to a literal or `env:NAME`: a secret
 * backend's own credential cannot come from a secret backend (no bootstrap
 * loops), and the accepted values say so.
 */
export function secretRef(name: string, opts: { doc: string; backendCredential?: boolean }): VarSpec<SecretRef | undefined> {
  const allowed: readonly SecretScheme[] | undefined = opts.backendCredential ? ['literal', 'env'] : undefined;
  return {
    name,
    doc: opts.doc,
    accepts: allowed ? 'a literal value, literal:<value> or env:NAME (a secret backend\'s own credential cannot come from a secret backend)' : ANY_REFERENCE,
    defaultText: undefined,
    secret: true,
    parse(raw) {
      if (raw === undefined || raw === '') return undefined;
      let ref: SecretRef;
      try {
        ref = parseSecretRef(raw);
      } catch (err) {
        if (err instanceof SecretRefError) throw new VarProblem(err.message);
        throw err;
      }
      if (allowed && !allowed.includes(ref.scheme)) throw new VarProblem('a secret-backend credential cannot itself come from a secret backend');
      return Object.freeze(ref);
    },
    show: (v) => (v === undefined ? '(unset)' : redactRef(v)),
  };
}
