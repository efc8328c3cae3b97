/**
 * A strict checker for the Prometheus text format 0.0.4 as /federate writes it
 * (https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details): every
 * line is `# TYPE <name> untyped` or a sample `name{l="v",...} value timestamp`; names valid;
 * label values only with the escapes \\ \" \n; no duplicate label names; each family's TYPE
 * line once, before its samples, families contiguous. Returns the parsed samples.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs: number;
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:NaN|[+-]Inf|-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]\d+)?)$/;

export function parseStrict(text: string): ParsedSample[] {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the body must end with a newline');
  const typed = new Set<string>();
  const out: ParsedSample[] = [];
  let current: string | undefined;
  text.split('\n').slice(0, -1).forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) untyped$/.exec(line);
      if (m === null) throw new Error(`${where}: unexpected comment ${line}`);
      const name = m[1] as string;
      if (!METRIC.test(name)) throw new Error(`${where}: invalid metric name`);
      if (typed.has(name)) throw new Error(`${where}: second TYPE line for ${name}`);
      typed.add(name);
      current = name;
      return;
    }
    let p = 0;
    while (p < line.length && line[p] !== '{' && line[p] !== ' ') p++;
    const name = line.slice(0, p);
    if (!METRIC.test(name)) throw new Error(`${where}: invalid metric name ${name}`);
    if (name !== current) throw new Error(`${where}: sample of ${name} outside its family`);
    const labels: Record<string, string> = {};
    if (line[p] === '{') {
      p++;
      while (line[p] !== '}') {
        let q = p;
        while (q < line.length && line[q] !== '=') q++;
        const ln = line.slice(p, q);
        if (!LABEL.test(ln)) throw new Error(`${where}: invalid label name ${ln}`);
        if (ln in labels) throw new Error(`${where}: duplicate label ${ln}`);
        if (line[q + 1] !== '"') throw new Error(`${where}: label value must be quoted`);
        q += 2;
        let v = '';
        for (;;) {
          const c = line[q];
          if (c === undefined) throw new Error(`${where}: unterminated label value`);
          if (c === '"') break;
          if (c === '\\') {
            const e = line[q + 1];
            if (e === '\\') v += '\\';
            else if (e === '"') v += '"';
            else if (e === 'n') v += '\n';
            else throw new Error(`${where}: invalid escape \\${e}`);
            q += 2;
            continue;
          }
          v += c;
          q++;
        }
        labels[ln] = v;
        p = q + 1;
        if (line[p] === ',') p++;
        else if (line[p] !== '}') throw new Error(`${where}: expected , or }`);
      }
      p++;
    }
    const rest = line.slice(p).split(' ');
    if (rest.length !== 3 || rest[0] !== '') throw new Error(`${where}: expected " value timestamp"`);
    const [, valueText, tsText] = rest as [string, string, string];
    if (!VALUE.test(valueText)) throw new Error(`${where}: invalid value ${valueText}`);
    if (!/^-?\d+$/.test(tsText)) throw new Error(`${where}: invalid timestamp ${tsText}`);
    const value = valueText === 'NaN' ? NaN : valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    out.push({ name, labels, value, timestampMs: Number(tsText) });
  });
  return out;
}
