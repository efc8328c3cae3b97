/**
 * A strict RFC 5424 parser (section 6 ABNF) used as the test oracle: any
 * deviation from the grammar throws, naming the rule.
 */
export interface SdElement { id: string; params: Array<[name: string, rawValue: string]> }
export interface Syslog5424 {
  pri: number; facility: number; severity: number; version: number; timestamp: string; hostname: string;
  appName: string; procId: string; msgId: string; sd: SdElement[]; msg: string | undefined; bom: boolean;
}

const PRINTUSASCII = /^[\x21-\x7e]+$/;
const SD_NAME = /^[\x21-\x7e]{1,32}$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

function fail(rule: string, detail: string): never {
  throw new Error(`RFC 5424 ${rule}: ${detail}`);
}

function field(text: string, pos: number, rule: string, max: number): [string, number] {
  const end = text.indexOf(' ', pos);
  if (end < 0) fail(rule, 'missing SP after field');
  const value = text.slice(pos, end);
  if (value !== '-' && (!PRINTUSASCII.test(value) || value.length > max)) fail(rule, `must be NILVALUE or 1*${max}PRINTUSASCII, got ${JSON.stringify(value.slice(0, 60))}`);
  return [value, end + 1];
}

export function parse5424(bytes: Buffer | string): Syslog5424 {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    fail('MSG', 'not valid UTF-8');
  }
  const priM = /^<(\d{1,3})>([1-9]\d{0,2}) /.exec(text);
  if (!priM) fail('PRI/VERSION', 'header must start with <PRIVAL>VERSION SP');
  if (priM[1]!.length > 1 && priM[1]!.startsWith('0')) fail('PRI', 'no leading zeros');
  const pri = Number(priM[1]);
  if (pri > 191) fail('PRI', 'PRIVAL above 191');
  let pos = priM[0].length;
  let timestamp: string;
  [timestamp, pos] = field(text, pos, 'TIMESTAMP', 64);
  if (timestamp !== '-') {
    const m = TIMESTAMP.exec(timestamp);
    if (!m) fail('TIMESTAMP', `not FULL-DATE "T" FULL-TIME with at most 6 fraction digits: ${timestamp}`);
    if (Number(m[6]) > 59) fail('TIMESTAMP', 'leap seconds are not allowed');
    if (Number.isNaN(Date.parse(timestamp))) fail('TIMESTAMP', 'not a real date');
  }
  let hostname: string; let appName: string; let procId: string; let msgId: string;
  [hostname, pos] = field(text, pos, 'HOSTNAME', 255);
  [appName, pos] = field(text, pos, 'APP-NAME', 48);
  [procId, pos] = field(text, pos, 'PROCID', 128);
  [msgId, pos] = field(text, pos, 'MSGID', 32);

  const sd: SdElement[] = [];
  if (text[pos] === '-') {
    pos += 1;
  } else {
    if (text[pos] !== '[') fail('STRUCTURED-DATA', 'must be NILVALUE or start with [');
    while (text[pos] === '[') {
      pos += 1;
      let end = pos;
      while (end < text.length && text[end] !== ' ' && text[end] !== ']') end++;
      const id = text.slice(pos, end);
      if (!SD_NAME.test(id) || /[=" \]]/.test(id)) fail('SD-ID', `invalid SD-NAME ${JSON.stringify(id)}`);
      if (id.includes('@') && !/^[^@]+@\d+(\.\d+)*$/.test(id)) fail('SD-ID', 'name@<private enterprise number> expected');
      if (sd.some((e) => e.id === id)) fail('SD-ID', `duplicate SD-ID ${id}`);
      pos = end;
      const params: Array<[string, string]> = [];
      while (text[pos] === ' ') {
        pos += 1;
        const eq = text.indexOf('=', pos);
        if (eq < 0) fail('SD-PARAM', 'missing =');
        const name = text.slice(pos, eq);
        if (!SD_NAME.test(name) || /[=" \]]/.test(name)) fail('PARAM-NAME', `invalid SD-NAME ${JSON.stringify(name)}`);
        if (text[eq + 1] !== '"') fail('SD-PARAM', `value of ${name} must start with a quote`);
        let i = eq + 2;
        let raw = '';
        for (;;) {
          if (i >= text.length) fail('PARAM-VALUE', `unterminated value of ${name}`);
          const ch = text[i] as string;
          if (ch === '\\') {
            if (i + 1 >= text.length) fail('PARAM-VALUE', 'dangling backslash');
            raw += ch + text[i + 1];
            i += 2;
            continue;
          }
          if (ch === '"') break;
          if (ch === ']') fail('PARAM-VALUE', `unescaped ] in value of ${name}`);
          raw += ch;
          i += 1;
        }
        params.push([name, raw]);
        pos = i + 1;
      }
      if (text[pos] !== ']') fail('SD-ELEMENT', `expected ] at ${pos}`);
      pos += 1;
      sd.push({ id, params });
    }
  }
  let msg: string | undefined;
  let bom = false;
  if (pos < text.length) {
    if (text[pos] !== ' ') fail('SYSLOG-MSG', 'STRUCTURED-DATA must be followed by SP MSG or end');
    msg = text.slice(pos + 1);
    if (msg.startsWith('\uFEFF')) {
      bom = true;
      msg = msg.slice(1);
    }
  }
  return { pri, facility: Math.floor(pri / 8), severity: pri % 8, version: Number(priM[2]), timestamp, hostname, appName, procId, msgId, sd, msg, bom };
}

/** PARAM-VALUE as RFC 5424 §6.3.3 defines it: only \" \\ \] are escapes; any other backslash is literal. */
export function rfcUnescape(raw: string): string {
  return raw.replace(/\\(["\\\]])/g, '$1');
}

/** probectl's documented layer on top: \n \r \t \u00XX for control characters (and \\ for a backslash). */
export function probectlUnescape(raw: string): string {
  return raw.replace(/\\(u[0-9a-f]{4}|[nrt"\\\]])/g, (_m, c: string) => {
    if (c === 'n') return '\n';
    if (c === 'r') return '\r';
    if (c === 't') return '\t';
    if (c.startsWith('u')) return String.fromCharCode(parseInt(c.slice(1), 16));
    return c;
  });
}

export function sdParams(m: Syslog5424, id: string): Map<string, string> {
  const el = m.sd.find((e) => e.id === id);
  if (!el) throw new Error(`no SD-ELEMENT ${id}`);
  return new Map(el.params.map(([k, v]) => [k, probectlUnescape(v)]));
}
