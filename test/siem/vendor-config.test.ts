import assert from 'node:assert/strict';
import { siemOf } from './helpers/forwarder.ts';
import type { ChronicleSettings } from '../../src/siem/targets/chronicle/index.ts';
import type { SentinelSettings } from '../../src/siem/targets/sentinel/index.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/settings.ts';
import type { ProbectlError } from '../../src/core/errors.ts';
import { configRefused } from '../helpers/errors.ts';

const refused = (env: NodeJS.ProcessEnv): ProbectlError => configRefused(() => loadConfig(env));

/** The variables a refusal names, in order. */
const named = (err: ProbectlError): string[] => (err.details?.problems as { variable: string }[]).map((p) => p.variable);

const on = { PROBECTL_SIEM_ENABLED: 'true' };
const DCR_URL = 'https://probectl-dce-a1b2.westeurope-1.ingest.monitor.azure.com/dataCollectionRules/dcr-00112233445566778899aabbccddeeff/streams/Custom-ProbectlEvents?api-version=2023-01-01';
const PARENT = 'https://europe-west2-chronicle.googleapis.com/v1beta/projects/acme/locations/europe-west2/instances/0f6e4d2c-1a3b-4c5d-8e9f-a0b1c2d3e4f5';
const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = '9e2f5b1c-3d4a-4b6c-8d7e-0f1a2b3c4d5e';

function keyFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'gsa-cfg-'));
  writeFileSync(join(dir, 'key.json'), typeof content === 'string' ? content : JSON.stringify(content));
  return join(dir, 'key.json');
}
const SA = { type: 'service_account', client_email: 'x@p.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nPLANTED-KEY-MATERIAL\n-----END PRIVATE KEY-----\n', token_uri: 'https://oauth2.googleapis.com/token' };

describe('SIEM export configuration: sentinel', () => {
  it('takes a Logs Ingestion API stream URL, with client-secret sign-in or the default chain', () => {
    const secret = siemOf(loadConfig({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: DCR_URL, PROBECTL_SIEM_AZURE_TENANT_ID: TENANT_ID, PROBECTL_SIEM_AZURE_CLIENT_ID: CLIENT_ID, PROBECTL_SIEM_TOKEN: 'azure:probectl-kv/sentinel-client-secret' }))!;
    const { kind, dcr, stream } = secret.target as SentinelSettings;
    assert.deepEqual({ kind, dcr, stream }, { kind: 'sentinel-dcr', dcr: 'dcr-00112233445566778899aabbccddeeff', stream: 'Custom-ProbectlEvents' });
    assert.equal(secret.format, 'dcr');
    assert.deepEqual([(secret.target as SentinelSettings).azure?.tenantId, (secret.target as SentinelSettings).azure?.clientId, (secret.target as SentinelSettings).azure?.authorityHost.origin, (secret.target as SentinelSettings).azure?.scope], [TENANT_ID, CLIENT_ID, 'https://login.microsoftonline.com', 'https://monitor.azure.com/.default']);
    const chain = siemOf(loadConfig({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: DCR_URL }))!;
    assert.deepEqual([(chain.target as SentinelSettings).azure?.tenantId, chain.token], [undefined, undefined], 'no token needed: workload or managed identity');
    const gov = siemOf(loadConfig({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: DCR_URL, PROBECTL_SIEM_AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us' }))!;
    assert.equal((gov.target as SentinelSettings).azure?.scope, 'https://monitor.azure.us/.default', 'the sovereign cloud\'s audience');
  });

  it('over syslog+tls it sends CEF to an Azure Monitor Agent forwarder', () => {
    const ama = siemOf(loadConfig({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: 'syslog+tls://ama.example:6514' }))!;
    assert.deepEqual([ama.target.kind, ama.format], ['syslog', 'cef']);
  });

  it('refuses, in one message naming every variable: a non-DCR URL, a missing api-version, half a client-secret sign-in, a format the API cannot carry', () => {
    const bad = refused({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: 'https://sentinel.example/ingest', PROBECTL_SIEM_AZURE_TENANT_ID: TENANT_ID, PROBECTL_SIEM_FORMAT: 'cef', PROBECTL_SIEM_AZURE_AUTHORITY_HOST: 'http://login.example' });
    assert.deepEqual(named(bad), ['PROBECTL_SIEM_ENDPOINT', 'PROBECTL_SIEM_AZURE_CLIENT_ID', 'PROBECTL_SIEM_TOKEN', 'PROBECTL_SIEM_AZURE_AUTHORITY_HOST']);
    assert.match(bad.message, /PROBECTL_SIEM_ENDPOINT: with the sentinel preset an https:\/\/ endpoint must be a Logs Ingestion API stream URL; accepted: https:\/\/<data collection endpoint>\/dataCollectionRules\/dcr-<32 hex digits>\/streams\/Custom-<stream>\?api-version=2023-01-01/);
    const half = refused({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: DCR_URL, PROBECTL_SIEM_AZURE_TENANT_ID: TENANT_ID, PROBECTL_SIEM_FORMAT: 'cef', PROBECTL_SIEM_AZURE_AUTHORITY_HOST: 'http://login.example' });
    assert.deepEqual(named(half), ['PROBECTL_SIEM_FORMAT', 'PROBECTL_SIEM_AZURE_CLIENT_ID', 'PROBECTL_SIEM_TOKEN', 'PROBECTL_SIEM_AZURE_AUTHORITY_HOST']);
    assert.match(half.message, /PROBECTL_SIEM_FORMAT: cef cannot travel there: the Logs Ingestion API takes DCR records .*; accepted: dcr \(or unset: dcr\)/);
    assert.match(half.message, /PROBECTL_SIEM_AZURE_CLIENT_ID: client-secret sign-in needs PROBECTL_SIEM_AZURE_TENANT_ID, PROBECTL_SIEM_AZURE_CLIENT_ID and PROBECTL_SIEM_TOKEN/);
    assert.match(half.message, /PROBECTL_SIEM_AZURE_AUTHORITY_HOST: not an https:\/\/ authority host/);
    const version = refused({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: DCR_URL.replace('2023-01-01', '2021-11-01-preview') });
    assert.match(version.message, /PROBECTL_SIEM_ENDPOINT: the stream URL must carry api-version=2023-01-01/);
    assert.match(refused({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: DCR_URL.replace('dcr-00112233445566778899aabbccddeeff', 'dcr-123') }).message, /must be a Logs Ingestion API stream URL/);
    assert.match(refused({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: 'syslog+tls://ama.example:6514', PROBECTL_SIEM_FORMAT: 'dcr' }).message, /PROBECTL_SIEM_FORMAT: dcr cannot travel as RFC 5425 syslog frames/);
  });

  it('never echoes the endpoint or the client secret in a refusal', () => {
    const err = refused({ ...on, PROBECTL_SIEM_PRESET: 'sentinel', PROBECTL_SIEM_ENDPOINT: 'https://dce.example/secret-path-PLANTED', PROBECTL_SIEM_TOKEN: 'client-secret-PLANTED' });
    assert.ok(!err.message.includes('PLANTED'), err.message);
  });
});

describe('SIEM export configuration: chronicle', () => {
  it('chooses the mode from the endpoint path, with each mode\'s default format', () => {
    const logs = siemOf(loadConfig({ ...on, PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_ENDPOINT: `${PARENT}/logTypes/PROBECTL/logs:import` }))!;
    assert.deepEqual([logs.target.kind, (logs.target as ChronicleSettings).logType, logs.format, (logs.target as ChronicleSettings).credentialsFile], ['chronicle-logs', 'PROBECTL', 'otlp', undefined]);
    const events = siemOf(loadConfig({ ...on, PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_ENDPOINT: `${PARENT.replace('v1beta', 'v1alpha')}/events:import`, PROBECTL_SIEM_GCP_CREDENTIALS_FILE: keyFile(SA) }))!;
    assert.deepEqual([events.target.kind, events.format, typeof (events.target as ChronicleSettings).credentialsFile], ['chronicle-events', 'udm', 'string']);
    const hook = siemOf(loadConfig({ ...on, PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_ENDPOINT: `${PARENT}/feeds/feed-1:importPushLogs`, PROBECTL_SIEM_TOKEN: 'env:KEY', PROBECTL_SIEM_WEBHOOK_SECRET: 'gcp:acme/feed-secret' }))!;
    assert.deepEqual([hook.target.kind, (hook.target as ChronicleSettings).feed, hook.format, (hook.target as ChronicleSettings).webhookSecret?.scheme], ['chronicle-webhook', 'feed-1', 'otlp', 'gcp']);
    assert.equal(siemOf(loadConfig({ ...on, PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_ENDPOINT: `${PARENT}/logTypes/PROBECTL/logs:import`, PROBECTL_SIEM_FORMAT: 'cef' }))!.format, 'cef');
  });

  it('refuses an unknown path, a format the mode cannot carry, a webhook without its keys, credentials it would not use — naming each', () => {
    const path = refused({ ...on, PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_ENDPOINT: 'https://chronicle.example/v1/logs', PROBECTL_SIEM_TOKEN: 'x' });
    assert.deepEqual(named(path), ['PROBECTL_SIEM_ENDPOINT']);
    assert.match(path.message, /must be a Chronicle API logs:import, events:import or webhook feed importPushLogs URL; accepted: https:\/\/<region>-chronicle\.googleapis\.com\/v1beta\/projects/);
    const hook = refused({ ...on, PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_ENDPOINT: `${PARENT}/feeds/f:importPushLogs`, PROBECTL_SIEM_FORMAT: 'cef', PROBECTL_SIEM_GCP_CREDENTIALS_FILE: keyFile(SA) });
    assert.deepEqual(named(hook), ['PROBECTL_SIEM_FORMAT', 'PROBECTL_SIEM_GCP_CREDENTIALS_FILE', 'PROBECTL_SIEM_TOKEN', 'PROBECTL_SIEM_WEBHOOK_SECRET']);
    assert.match(hook.message, /PROBECTL_SIEM_FORMAT: cef cannot travel there: the webhook feed takes newline-separated JSON; accepted: otlp, ecs, udm/);
    assert.match(hook.message, /PROBECTL_SIEM_WEBHOOK_SECRET: a Chronicle webhook feed needs the feed's secret key/);
    const events = refused({ ...on, PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_ENDPOINT: `${PARENT}/events:import`, PROBECTL_SIEM_FORMAT: 'otlp', PROBECTL_SIEM_TOKEN: 'static-PLANTED', PROBECTL_SIEM_WEBHOOK_SECRET: 's-PLANTED' });
    assert.deepEqual(named(events), ['PROBECTL_SIEM_FORMAT', 'PROBECTL_SIEM_TOKEN', 'PROBECTL_SIEM_WEBHOOK_SECRET']);
    assert.match(events.message, /PROBECTL_SIEM_TOKEN: is not used with this configuration \(the Chronicle API import methods authenticate with Google OAuth/);
    assert.ok(!events.message.includes('PLANTED'));
  });

  it('checks the service-account key file at startup without echoing it', () => {
    const bad = (content: unknown) => refused({ ...on, PROBECTL_SIEM_PRESET: 'chronicle', PROBECTL_SIEM_ENDPOINT: `${PARENT}/events:import`, PROBECTL_SIEM_GCP_CREDENTIALS_FILE: keyFile(content) });
    assert.match(bad('not json PLANTED').message, /PROBECTL_SIEM_GCP_CREDENTIALS_FILE: not a JSON file/);
    assert.match(bad({ ...SA, type: 'external_account' }).message, /not a service-account key/);
    const uri = bad({ ...SA, token_uri: 'http://evil.example/token' });
    assert.match(uri.message, /its token_uri is not an https:\/\/ URL/);
    for (const e of [uri, bad({ ...SA, client_email: 1 })]) assert.ok(!e.message.includes('PLANTED-KEY-MATERIAL'));
  });

  it('other presets refuse the new formats and variables where they mean nothing', () => {
    const splunk = refused({ ...on, PROBECTL_SIEM_PRESET: 'splunk', PROBECTL_SIEM_TOKEN: 't', PROBECTL_SIEM_ENDPOINT: 'https://splunk.example:8088/services/collector/raw', PROBECTL_SIEM_FORMAT: 'udm', PROBECTL_SIEM_WEBHOOK_SECRET: 'x', PROBECTL_SIEM_AZURE_CLIENT_ID: CLIENT_ID });
    assert.deepEqual(named(splunk), ['PROBECTL_SIEM_FORMAT', 'PROBECTL_SIEM_AZURE_CLIENT_ID', 'PROBECTL_SIEM_WEBHOOK_SECRET']);
    assert.equal(siemOf(loadConfig({ ...on, PROBECTL_SIEM_ENDPOINT: 'https://siem.example/in', PROBECTL_SIEM_FORMAT: 'udm' }))!.format, 'udm', 'generic takes any format');
    assert.equal(siemOf(loadConfig({ ...on, PROBECTL_SIEM_ENDPOINT: 'syslog+tls://collector.example:6514', PROBECTL_SIEM_FORMAT: 'cef' }))!.format, 'cef', 'CEF over syslog');
  });
});
