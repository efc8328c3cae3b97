import { isIP } from 'node:net';

/**
 * A strict CEF parser (ArcSight CEF format): a prefix `CEF:0`, seven header
 * fields separated by unescaped pipes, and an extension of `key=value` pairs
 * in which `\`, `=`, CR and LF are escaped.
 */
export interface CefRecord {
  version: string; vendor: string; product: string; deviceVersion: string; signatureId: string; name: string; severity: string;
  extension: Map<string, string>;
  keys: string[];
}

function unescapeHeader(v: string): string {
  return v.replace(/\\([|\\])/g, '$1');
}

export function unescapeExtension(v: string): string {
  return v.replace(/\\([\\=nr])/g, (_m, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

/** C0 and C1 control characters, DEL and the Unicode line and paragraph separators: none may appear in a CEF line. */
export const CONTROL_CHARACTER = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

export function parseCef(line: string): CefRecord {
  if (/[\r\n]/.test(line)) throw new Error('CEF: a record must be one line');
  const control = CONTROL_CHARACTER.exec(line);
  if (control) throw new Error(`CEF: control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${control.index}`);
  const fields: string[] = [];
  let cur = '';
  let i = 0;
  for (; i < line.length && fields.length < 7; i++) {
    const ch = line[i] as string;
    if (ch === '\\') {
      const next = line[i + 1];
      if (next !== '|' && next !== '\\') throw new Error(`CEF header: backslash must escape | or \\ (at ${i})`);
      cur += ch + next;
      i += 1;
    } else if (ch === '|') {
      fields.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (fields.length !== 7) throw new Error('CEF: fewer than 8 header fields');
  const ext = line.slice(i);
  const [prefix, vendor, product, deviceVersion, signatureId, name, severity] = fields as [string, string, string, string, string, string, string];
  if (prefix !== 'CEF:0') throw new Error(`CEF: prefix must be CEF:0, got ${prefix}`);
  if (!/^(10|[0-9])$/.test(severity)) throw new Error(`CEF: severity must be 0-10, got ${severity}`);

  // Keys start after a space (or at the beginning) and end at an unescaped '='.
  const starts: Array<{ key: string; keyStart: number; valueStart: number }> = [];
  for (let j = 0; j < ext.length; j++) {
    if (ext[j] === '\\') {
      j += 1;
      continue;
    }
    if (ext[j] === '=') {
      let k = j - 1;
      while (k >= 0 && /[A-Za-z0-9_]/.test(ext[k] as string)) k--;
      const key = ext.slice(k + 1, j);
      if (key === '' || (k >= 0 && ext[k] !== ' ')) throw new Error(`CEF extension: unescaped = inside a value at ${j}`);
      starts.push({ key, keyStart: k + 1, valueStart: j + 1 });
    }
  }
  const extension = new Map<string, string>();
  const keys: string[] = [];
  starts.forEach((s, n) => {
    const next = starts[n + 1];
    const raw = ext.slice(s.valueStart, next ? next.keyStart - 1 : ext.length);
    if (/(^|[^\\])(\\\\)*\\$/.test(raw)) throw new Error(`CEF extension: dangling backslash in ${s.key}`);
    if (/\\[^\\=nr]/.test(raw.replace(/\\\\/g, ''))) throw new Error(`CEF extension: undefined escape in ${s.key}`);
    if (extension.has(s.key)) throw new Error(`CEF extension: duplicate key ${s.key}`);
    extension.set(s.key, unescapeExtension(raw));
    keys.push(s.key);
  });
  return {
    version: prefix, vendor: unescapeHeader(vendor), product: unescapeHeader(product), deviceVersion: unescapeHeader(deviceVersion),
    signatureId: unescapeHeader(signatureId), name: unescapeHeader(name), severity, extension, keys,
  };
}

/**
 * Extension keys of the CEF dictionary (ArcSight "Implementing ArcSight CEF",
 * key names column), plus the custom-field families with their labels.
 */
export const CEF_DICTIONARY = new Set([
  'act', 'app', 'cnt', 'destinationDnsDomain', 'destinationServiceName', 'destinationTranslatedAddress', 'destinationTranslatedPort',
  'deviceCustomDate1', 'deviceCustomDate1Label', 'deviceCustomDate2', 'deviceCustomDate2Label', 'deviceDirection', 'deviceDnsDomain',
  'deviceExternalId', 'deviceFacility', 'deviceInboundInterface', 'deviceNtDomain', 'deviceOutboundInterface', 'devicePayloadId',
  'deviceProcessName', 'deviceTranslatedAddress', 'dhost', 'dmac', 'dntdom', 'dpid', 'dpriv', 'dproc', 'dpt', 'dst', 'dtz', 'duid', 'duser',
  'dvc', 'dvchost', 'dvcmac', 'dvcpid', 'end', 'externalId', 'fileCreateTime', 'fileHash', 'fileId', 'fileModificationTime', 'filePath',
  'filePermission', 'fileType', 'fname', 'fsize', 'in', 'msg', 'oldFileCreateTime', 'oldFileHash', 'oldFileId', 'oldFileModificationTime',
  'oldFileName', 'oldFilePath', 'oldFilePermission', 'oldFileSize', 'oldFileType', 'out', 'outcome', 'proto', 'reason', 'request',
  'requestClientApplication', 'requestContext', 'requestCookies', 'requestMethod', 'rt', 'shost', 'smac', 'sntdom', 'sourceDnsDomain',
  'sourceServiceName', 'sourceTranslatedAddress', 'sourceTranslatedPort', 'spid', 'spriv', 'sproc', 'spt', 'src', 'start', 'suid', 'suser',
  'type', 'cat', 'agentDnsDomain', 'agentNtDomain', 'agentTranslatedAddress', 'agentTranslatedZoneExternalID', 'agentTranslatedZoneURI',
  'agentZoneExternalID', 'agentZoneURI', 'ahost', 'aid', 'amac', 'art', 'at', 'atz', 'av', 'cfp1', 'cfp1Label', 'cfp2', 'cfp2Label', 'cfp3', 'cfp3Label',
  'cfp4', 'cfp4Label', 'cn1', 'cn1Label', 'cn2', 'cn2Label', 'cn3', 'cn3Label', 'cs1', 'cs1Label', 'cs2', 'cs2Label', 'cs3', 'cs3Label', 'cs4', 'cs4Label',
  'cs5', 'cs5Label', 'cs6', 'cs6Label', 'c6a1', 'c6a1Label', 'c6a2', 'c6a2Label', 'c6a3', 'c6a3Label', 'c6a4', 'c6a4Label', 'flexDate1', 'flexDate1Label',
  'flexString1', 'flexString1Label', 'flexString2', 'flexString2Label',
]);

/** Custom field families: each value key needs its `<key>Label` in the same record. */
export const CUSTOM_FIELD = /^(cs[1-6]|cn[1-3]|cfp[1-4]|c6a[1-4]|flexString[12]|flexDate1|deviceCustomDate[12])$/;

/**
 * Types and lengths of the CEF dictionary ("Implementing ArcSight CEF", header
 * table and extension dictionary), for the keys probectl writes. A string
 * length is counted in UTF-16 code units of the unescaped value.
 */
export const CEF_HEADER_LENGTH = { vendor: 63, product: 63, deviceVersion: 31, signatureId: 1023, name: 512 } as const;
export const CEF_KEY_TYPES: Readonly<Record<string, { type: 'string'; length: number } | { type: 'ipv4' | 'ipv6' | 'port' | 'long' | 'timestamp' }>> = {
  act: { type: 'string', length: 63 }, app: { type: 'string', length: 31 }, cat: { type: 'string', length: 1023 }, dhost: { type: 'string', length: 1023 },
  dvchost: { type: 'string', length: 100 }, externalId: { type: 'string', length: 40 }, msg: { type: 'string', length: 1023 }, outcome: { type: 'string', length: 63 },
  request: { type: 'string', length: 1023 }, suser: { type: 'string', length: 1023 }, duser: { type: 'string', length: 1023 }, reason: { type: 'string', length: 1023 },
  ...Object.fromEntries([1, 2, 3, 4, 5, 6].flatMap((n) => [[`cs${n}`, { type: 'string', length: 4000 }], [`cs${n}Label`, { type: 'string', length: 1023 }]])),
  ...Object.fromEntries([1, 2, 3].flatMap((n) => [[`cn${n}`, { type: 'long' }], [`cn${n}Label`, { type: 'string', length: 1023 }]])),
  ...Object.fromEntries([1, 2, 3, 4].flatMap((n) => [[`c6a${n}`, { type: 'ipv6' }], [`c6a${n}Label`, { type: 'string', length: 1023 }]])),
  dst: { type: 'ipv4' }, src: { type: 'ipv4' }, dpt: { type: 'port' }, spt: { type: 'port' }, rt: { type: 'timestamp' }, start: { type: 'timestamp' }, end: { type: 'timestamp' },
};

/** Every way a parsed record breaks the dictionary's types and lengths (empty when none). */
export function cefDictionaryProblems(rec: CefRecord): string[] {
  const problems: string[] = [];
  for (const [field, max] of Object.entries(CEF_HEADER_LENGTH)) {
    const value = rec[field as keyof typeof CEF_HEADER_LENGTH];
    if (value.length > max) problems.push(`header ${field}: ${value.length} > ${max}`);
  }
  for (const [key, value] of rec.extension) {
    const t = CEF_KEY_TYPES[key];
    if (t === undefined) problems.push(`${key}: no type known`);
    else if (t.type === 'string' && value.length > t.length) problems.push(`${key}: ${value.length} > ${t.length}`);
    else if (t.type === 'ipv4' && isIP(value) !== 4) problems.push(`${key}: not an IPv4 address: ${value}`);
    else if (t.type === 'ipv6' && (isIP(value) !== 6 || value.includes('%'))) problems.push(`${key}: not an IPv6 address: ${value}`);
    else if (t.type === 'port' && !(/^\d{1,5}$/.test(value) && Number(value) <= 65535)) problems.push(`${key}: not a port: ${value}`);
    else if ((t.type === 'long' || t.type === 'timestamp') && !(/^-?\d{1,19}$/.test(value) && BigInt(value) <= 9223372036854775807n && BigInt(value) >= -9223372036854775808n)) problems.push(`${key}: not a Long: ${value}`);
  }
  return problems;
}
