/**
 * A real Grafana Mimir for peer tests (built by .ci/install-peers.sh into .peers/bin/mimir from
 * the pinned module source): monolithic (`-target=all`) on free loopback HTTP, gRPC and
 * memberlist ports, multitenancy on (X-Scope-OrgID required, Mimir's default), every ring in
 * the process's in-memory KV with replication factor 1, blocks, rules and the TSDB on the
 * local filesystem in a temporary directory (also the working directory, so nothing lands
 * elsewhere), anonymous usage reporting off. stop() kills it (SIGTERM, then SIGKILL) and removes
 * the directory; a failed start does the same before it throws.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnPeer } from './child.ts';
import { freePort } from './prometheus.ts';

export const MIMIR_BIN = process.env.PROBECTL_PEER_MIMIR ?? resolve(import.meta.dirname, '../../.peers/bin/mimir');

export interface MimirPeer {
  /** Mimir's HTTP root: the Prometheus API is under `<url>/prometheus`, remote-write at `<url>/api/v1/push`. */
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** The configuration: Mimir's single-process getting-started configuration, with every address on loopback and every path in `dir`. */
export function mimirConfig(dir: string, ports: { http: number; grpc: number; gossip: number }): string {
  const ring = 'kvstore: { store: inmemory }\n    instance_addr: 127.0.0.1';
  return `target: all
multitenancy_enabled: true
usage_stats:
  enabled: false
activity_tracker:
  filepath: ${dir}/metrics-activity.log
server:
  http_listen_address: 127.0.0.1
  http_listen_port: ${ports.http}
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: ${ports.grpc}
  log_level: warn
memberlist:
  bind_addr: [127.0.0.1]
  bind_port: ${ports.gossip}
distributor:
  ring:
    ${ring}
ingester:
  ring:
    ${ring}
    replication_factor: 1
    min_ready_duration: 0s
    final_sleep: 0s
querier:
  ring:
    ${ring}
ruler:
  ring:
    ${ring}
  rule_path: ${dir}/ruler
query_scheduler:
  ring:
    ${ring}
frontend:
  # Where queriers send their answers back: the gRPC listener above, not an interface's address.
  address: 127.0.0.1
compactor:
  data_dir: ${dir}/compactor
  sharding_ring:
    ${ring}
store_gateway:
  sharding_ring:
    ${ring}
    replication_factor: 1
blocks_storage:
  backend: filesystem
  filesystem:
    dir: ${dir}/blocks
  bucket_store:
    sync_dir: ${dir}/tsdb-sync
  tsdb:
    dir: ${dir}/tsdb
ruler_storage:
  backend: filesystem
  filesystem:
    dir: ${dir}/rules
`;
}

export async function startMimir(): Promise<MimirPeer> {
  if (!existsSync(MIMIR_BIN)) throw new Error(`mimir is not installed at ${MIMIR_BIN}: run .ci/install-peers.sh`);
  const ports = { http: await freePort(), grpc: await freePort(), gossip: await freePort() };
  const url = `http://127.0.0.1:${ports.http}`;
  // Monolithic Mimir on a busy 2-core machine: ready in about half a second here; the rings may take longer.
  const peer = await spawnPeer('mimir', 'probectl-mimir-peer-', 90_000, async (dir) => {
    writeFileSync(join(dir, 'mimir.yaml'), mimirConfig(dir, ports));
    return { child: spawn(MIMIR_BIN, [`-config.file=${join(dir, 'mimir.yaml')}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }), ready: `${url}/ready` };
  });
  return { url, output: peer.output, stop: peer.stop };
}
