import assert from 'node:assert/strict';
import { before, describe, it, after } from 'node:test';
import { isCredentialVariable, renderProfiles, type Profile } from './profiles.ts';
import { tempDir, type K8sObject } from './tools.ts';

/**
 * Walks every rendered workload of every profile (the defaults, each size overlay, and the
 * full profiles with every optional object and inline credentials) and asserts the hardening the
 * issue lists: pod and container security contexts on every container and init container
 * (the migration Job included), resources, HTTPS probes on /healthz and /readyz, the
 * NetworkPolicy that selects each pod, and that no credential value appears anywhere but in a Secret.
 */
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod', 'ReplicaSet']);

interface Container {
  name: string;
  image: string;
  securityContext?: Record<string, any>;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  env?: { name: string; value?: string; valueFrom?: Record<string, any> }[];
  livenessProbe?: any;
  readinessProbe?: any;
  startupProbe?: any;
  ports?: { name: string; containerPort: number }[];
}

function podOf(o: K8sObject): { metadata: { labels: Record<string, string> }; spec: Record<string, any> } {
  const spec = o.spec as any;
  if (o.kind === 'Pod') return { metadata: o.metadata as any, spec: spec };
  if (o.kind === 'CronJob') return spec.jobTemplate.spec.template;
  return spec.template;
}

function selects(selector: { matchLabels?: Record<string, string> }, labels: Record<string, string>): boolean {
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) && Object.keys(selector.matchLabels ?? {}).length > 0;
}

describe('every workload in every profile is hardened', () => {
  let profiles: Profile[] = [];
  const dir = tempDir(after);
  before(() => {
    profiles = renderProfiles(dir);
  });

  it('renders the profiles: base, four overlays, two full profiles', () => {
    assert.deepEqual(profiles.map((p) => p.name), ['base', 'small', 'medium', 'large', 'multitenant', 'full-passthrough', 'full-reencrypt']);
  });

  it('pods: non-root fixed uid/gid, RuntimeDefault seccomp, no service-account token; every container and init container locked down with requests and limits', () => {
    let checked = 0;
    for (const p of profiles) {
      const workloads = p.render.objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
      assert.deepEqual(workloads.map((o) => o.kind).sort(), ['Deployment', 'Job'], `${p.name}: the workloads`);
      for (const w of workloads) {
        const at = `${p.name}/${w.kind}/${w.metadata.name}`;
        const pod = podOf(w).spec;
        assert.equal(pod.automountServiceAccountToken, false, `${at}: automountServiceAccountToken`);
        assert.equal(pod.hostNetwork ?? false, false, at);
        assert.equal(pod.hostPID ?? false, false, at);
        assert.equal(pod.hostIPC ?? false, false, at);
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${at}: pod runAsNonRoot`);
        assert.equal(pod.securityContext?.runAsUser, 10001, `${at}: pod runAsUser`);
        assert.equal(pod.securityContext?.runAsGroup, 10001, `${at}: pod runAsGroup`);
        assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${at}: pod seccomp`);
        const containers: Container[] = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
        assert.ok(containers.length > 0);
        for (const c of containers) {
          const cat = `${at}/${c.name}`;
          const sc = c.securityContext ?? {};
          assert.equal(sc.runAsNonRoot, true, `${cat}: runAsNonRoot`);
          assert.equal(sc.runAsUser, 10001, `${cat}: runAsUser`);
          assert.equal(sc.runAsGroup, 10001, `${cat}: runAsGroup`);
          assert.equal(sc.readOnlyRootFilesystem, true, `${cat}: readOnlyRootFilesystem`);
          assert.equal(sc.allowPrivilegeEscalation, false, `${cat}: allowPrivilegeEscalation`);
          assert.equal(sc.privileged, false, `${cat}: privileged`);
          assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${cat}: capabilities drop ALL`);
          assert.equal(sc.capabilities?.add, undefined, `${cat}: capabilities added`);
          assert.equal(sc.seccompProfile?.type, 'RuntimeDefault', `${cat}: seccomp`);
          for (const kind of ['requests', 'limits'] as const) {
            for (const r of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[r] !== undefined, `${cat}: resources.${kind}.${r}`);
          }
          // The root filesystem is read-only: /tmp and the data directory are volumes.
          const mounts = ((c as any).volumeMounts ?? []).map((m: { mountPath: string }) => m.mountPath);
          assert.ok(mounts.includes('/tmp') && mounts.includes('/var/lib/probectl'), `${cat}: /tmp and /var/lib/probectl mounted`);
          assert.match(c.image, /^ghcr\.io\/probectl\/probectl:0\.1\.0(@sha256:[0-9a-f]{64})?$/, `${cat}: image pinned`);
          checked++;
        }
      }
    }
    assert.equal(checked, profiles.length * 2);
  });

  it('the server: HTTPS only, liveness and startup on /healthz and readiness on /readyz over HTTPS, the certificate mounted', () => {
    for (const p of profiles) {
      const deploy = p.render.objects.find((o) => o.kind === 'Deployment') as K8sObject;
      const c = podOf(deploy).spec.containers[0] as Container;
      assert.deepEqual(c.ports, [{ name: 'https', containerPort: 8443, protocol: 'TCP' }], `${p.name}: one HTTPS port`);
      for (const [probe, path] of [['livenessProbe', '/healthz'], ['startupProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
        assert.deepEqual((c as any)[probe]?.httpGet, { path, port: 'https', scheme: 'HTTPS' }, `${p.name}: ${probe}`);
      }
      const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
      assert.equal(env.get('PROBECTL_TLS_CERT_FILE'), '/etc/probectl/tls/tls.crt');
      assert.equal(env.get('PROBECTL_TLS_KEY_FILE'), '/etc/probectl/tls/tls.key');
      const config = p.render.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-config')) as K8sObject;
      assert.equal(config.data?.PROBECTL_ALLOW_PLAINTEXT_HTTP, undefined, `${p.name}: no plaintext switch`);
      assert.equal(config.data?.PROBECTL_LISTEN, '0.0.0.0:8443');
      const tlsVolume = podOf(deploy).spec.volumes.find((v: { name: string }) => v.name === 'tls');
      assert.ok(tlsVolume?.secret?.secretName, `${p.name}: the certificate Secret is mounted`);
      const svc = p.render.objects.find((o) => o.kind === 'Service') as any;
      assert.deepEqual(svc.spec.ports.map((x: any) => [x.name, x.targetPort, x.appProtocol]), [['https', 'https', 'https']]);
      // The migration Job runs `probectl migrate` as a pre-install/pre-upgrade hook, with the server's credentials.
      const job = p.render.objects.find((o) => o.kind === 'Job') as K8sObject;
      assert.equal(job.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
      assert.deepEqual(podOf(job).spec.containers[0].args, ['migrate']);
      const jobEnv = (podOf(job).spec.containers[0].env as Container['env'] ?? []).map((e) => e.name);
      for (const name of ['PROBECTL_DATABASE_URL', 'PROBECTL_ENCRYPTION_KEY', 'PROBECTL_DATABASE_POOL_SIZE']) assert.ok(jobEnv.includes(name), `${p.name}: the Job has ${name}`);
    }
  });

  it('a NetworkPolicy (ingress and egress) selects every workload\'s pods; ingress only from the configured peers to the HTTPS port; egress to DNS, the database and configured endpoints only', () => {
    for (const p of profiles) {
      const policies = p.render.objects.filter((o) => o.kind === 'NetworkPolicy') as any[];
      for (const w of p.render.objects.filter((o) => WORKLOAD_KINDS.has(o.kind))) {
        const labels = podOf(w).metadata.labels;
        const mine = policies.filter((np) => selects(np.spec.podSelector, labels));
        assert.equal(mine.length, 1, `${p.name}/${w.kind}: exactly one NetworkPolicy selects its pods`);
        const np = mine[0];
        assert.deepEqual([...np.spec.policyTypes].sort(), ['Egress', 'Ingress'], `${p.name}/${w.kind}: both directions`);
        for (const rule of np.spec.ingress ?? []) {
          assert.ok(rule.from?.length > 0, `${p.name}/${w.kind}: an ingress rule without from allows everyone`);
          assert.deepEqual(rule.ports, [{ port: 'https', protocol: 'TCP' }]);
          for (const peer of rule.from) assert.ok(peer.namespaceSelector?.matchLabels || peer.podSelector?.matchLabels, `${p.name}: an ingress peer selects everything`);
        }
        if (w.kind === 'Job') assert.deepEqual(np.spec.ingress, [], `${p.name}: the migration Job takes no traffic`);
        const egressPorts = (np.spec.egress as any[]).map((r) => r.ports.map((x: any) => `${x.protocol}/${x.port}`).join(','));
        assert.equal(egressPorts[0], 'UDP/53,TCP/53', `${p.name}/${w.kind}: DNS first`);
        assert.equal(egressPorts[1], 'TCP/5432', `${p.name}/${w.kind}: then PostgreSQL`);
        for (const rule of np.spec.egress) assert.ok(rule.to?.length > 0 && rule.ports?.length > 0, `${p.name}/${w.kind}: an egress rule open to everything`);
      }
      if (p.name.startsWith('full')) {
        const server = policies.find((np) => np.spec.podSelector.matchLabels['app.kubernetes.io/component'] === 'server');
        assert.equal(server.spec.egress.length, 5, 'DNS, database, splunk, vault, pagerduty');
        const job = policies.find((np) => np.spec.podSelector.matchLabels['app.kubernetes.io/component'] === 'migrate');
        assert.equal(job.spec.egress.length, 3, 'the Job: DNS, database, and vault (a secret backend) only');
      }
    }
  });

  it('a PodDisruptionBudget covers the server; topology spread exactly when more than one replica can run', () => {
    for (const p of profiles) {
      const deploy = p.render.objects.find((o) => o.kind === 'Deployment') as any;
      const pdb = p.render.objects.find((o) => o.kind === 'PodDisruptionBudget') as any;
      assert.ok(selects(pdb.spec.selector, deploy.spec.template.metadata.labels), `${p.name}: the PDB selects the server`);
      const hpa = p.render.objects.some((o) => o.kind === 'HorizontalPodAutoscaler');
      const multi = hpa || deploy.spec.replicas > 1;
      assert.equal(Boolean(deploy.spec.template.spec.topologySpreadConstraints), multi, p.name);
    }
  });

  it('no credential value appears outside a Secret: not in a ConfigMap, an env literal, an annotation or any other object', () => {
    let literals = 0;
    for (const p of profiles) {
      const secrets = p.render.objects.filter((o) => o.kind === 'Secret');
      const values = new Set<string>(p.secrets);
      for (const s of secrets) for (const v of Object.values(s.data ?? {})) values.add(Buffer.from(v, 'base64').toString());
      if (p.name.startsWith('full')) assert.equal(secrets.length, 1, `${p.name}: the chart's credentials Secret`);
      for (const o of p.render.objects.filter((x) => x.kind !== 'Secret')) {
        const text = JSON.stringify(o);
        for (const v of values) assert.ok(!text.includes(v), `${p.name}/${o.kind}/${o.metadata.name} contains a credential`);
      }
      // Env literals hold no literal credential: a credential variable is a secretKeyRef or a secret reference.
      for (const w of p.render.objects.filter((o) => WORKLOAD_KINDS.has(o.kind))) {
        for (const c of podOf(w).spec.containers as Container[]) {
          for (const e of c.env ?? []) {
            if (isCredentialVariable(e.name) && e.value !== undefined) {
              assert.match(e.value, /^(env|vault|aws|azure|gcp|cyberark):/, `${p.name}/${w.kind}: ${e.name} is a literal`);
              literals++;
            }
          }
        }
      }
      for (const cm of p.render.objects.filter((o) => o.kind === 'ConfigMap')) {
        for (const [k, v] of Object.entries(cm.data ?? {})) {
          if (isCredentialVariable(k)) assert.match(v, /^(env|vault|aws|azure|gcp|cyberark):/, `${p.name}: ConfigMap ${k} is a literal`);
        }
      }
    }
    assert.ok(literals > 0, 'the full profiles pass a secret reference as a plain env value (PROBECTL_SIEM_TOKEN via the ConfigMap is checked above)');
  });
});
