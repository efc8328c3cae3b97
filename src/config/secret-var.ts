import { parseSecretRef, redactRef, SecretRefError, type SecretRef } from '../secrets/ref.ts';
import { VarProblem, type VarSpec } from './vars.ts';

/**
 * A credential variable: the value may be a secret reference (`vault:…`,
 * `env:…`, …) or a literal. Parsing never keeps the raw text in an error, and
 * `show` prints the redacted reference (or `[literal]`), never a value.
 */
export function secretRef(name: string, opts: { doc: string }): VarSpec<SecretRef | undefined> {
  return {
    name,
    doc: opts.doc,
    accepts: 'a literal value or a reference: env:NAME, vault:<mount>/<path>#<field>, cyberark:<query>#<field>, aws:<id>[#field], azure:<vault>/<name>[/<version>], gcp:<project>/<secret>[/<version>], literal:<value>',
    defaultText: undefined,
    secret: true,
    parse(raw) {
      if (raw === undefined || raw === '') return undefined;
      try {
        return Object.freeze(parseSecretRef(raw));
      } catch (err) {
        if (err instanceof SecretRefError) throw new VarProblem(err.message);
        throw err;
      }
    },
    show: (v) => (v === undefined ? '(unset)' : redactRef(v)),
  };
}
