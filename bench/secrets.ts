/**
 * Secret resolver: the cost of a cached (sealed) resolve, next to the AES-GCM
 * unseal floor and an unsealed environment read; and 1,000 concurrent misses
 * for one reference against a local Vault over real HTTPS (one backend call),
 * next to 1,000 misses for distinct references (what singleflight saves).
 */
import { randomBytes } from 'node:crypto';
import { parseSecretRef, refKey } from '../src/secrets/ref.ts';
import { SecretResolver } from '../src/secrets/resolver.ts';
import { Sealer } from '../src/secrets/seal.ts';
import { VaultBackend } from '../src/secrets/backends/vault.ts';
import { testPki } from '../test/core/http/test-server.ts';
import { FakeVault } from '../test/secrets/servers/vault.ts';
import { latencyStats, measureCalls, printTable } from './harness.ts';

const SAMPLES = 200_000;

const stats = latencyStats;
const measure = (fn: () => unknown | Promise<unknown>, samples = SAMPLES): Promise<number[]> => measureCalls(fn, samples);

async function cached(): Promise<Record<string, string | number>[]> {
  const ref = parseSecretRef('vault:kv/netops/snmp#auth');
  const value = randomBytes(24).toString('base64');
  const resolver = new SecretResolver({ leaseMs: 3_600_000, backends: [{ scheme: 'vault', fetch: async () => ({ value: Buffer.from(value) }) }] });
  await resolver.use(ref, () => undefined);
  const sealer = new Sealer();
  const aad = Buffer.from(refKey(ref));
  const sealed = sealer.seal(Buffer.from(value), aad);
  process.env.PROBECTL_BENCH_PLAIN = value;
  const rows = [
    { case: 'resolver.use, cached (sealed, zeroed after)', ...stats(await measure(() => resolver.use(ref, (b) => b.length))) },
    { case: 'floor: AES-256-GCM open + zero only', ...stats(await measure(() => sealer.open(sealed, aad).fill(0))) },
    { case: 'peer: unsealed process.env read', ...stats(await measure(() => process.env.PROBECTL_BENCH_PLAIN?.length)) },
  ];
  await resolver.close();
  return rows;
}

async function misses(): Promise<Record<string, string | number>[]> {
  const pki = await testPki();
  const vault = await FakeVault.start(pki);
  vault.addToken('s.bench');
  vault.put('kv', 'netops/snmp', { auth: 'bench-value' });
  for (let i = 0; i < 1000; i++) vault.put('kv', `many/${i}`, { auth: `v${i}` });
  const backend = () => new VaultBackend({ addr: vault.url, ca: [pki.ca.certPem], auth: { method: 'token', token: () => 's.bench' } });
  const rows: Record<string, string | number>[] = [];
  try {
    for (const [label, refs] of [
      ['1,000 concurrent misses, one reference', Array.from({ length: 1000 }, () => parseSecretRef('vault:kv/netops/snmp#auth'))],
      ['peer: 1,000 concurrent misses, 1,000 references', Array.from({ length: 1000 }, (_, i) => parseSecretRef(`vault:kv/many/${i}#auth`))],
    ] as const) {
      const resolver = new SecretResolver({ leaseMs: 60_000, timeoutMs: 60_000, backends: [backend()] });
      const before = vault.reads;
      const t0 = process.hrtime.bigint();
      const values = await Promise.all(refs.map((ref) => resolver.use(ref, (b) => b.length)));
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (values.some((v) => v === 0)) throw new Error('a resolve returned nothing');
      rows.push({ case: label, backend_calls: vault.reads - before, total_ms: ms });
      await resolver.close();
    }
  } finally {
    await vault.close();
  }
  return rows;
}

export async function main(): Promise<void> {
  printTable(`Cached resolve (${SAMPLES.toLocaleString('en-US')} sequential uses; target: median under 5 µs)`, await cached());
  printTable('Concurrent misses against a local Vault (KV v2 over HTTPS, test CA)', await misses());
}

if (import.meta.main) await main();
