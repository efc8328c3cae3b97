/**
 * Atlassian Document Format validation for the Jira stand-in, against
 * Atlassian's own JSON schema.
 *
 * adf-schema-v1-full.json is `dist/json-schema/v1/full.json` of the npm
 * package @atlaskit/adf-schema 57.7.22 (Copyright 2019 Atlassian Pty Ltd,
 * Apache License 2.0), the schema https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
 * points to ("A JSON schema is available to validate documents",
 * http://go.atlassian.com/adf-json-schema). It is a draft-04 schema; Ajv 8
 * compiles it once the `$schema` marker is dropped (it uses no draft-04-only
 * keyword).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';

let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  if (!validator) {
    const schema = JSON.parse(readFileSync(new URL('./adf-schema-v1-full.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    delete schema.$schema;
    validator = new Ajv({ strict: false, allErrors: false }).compile(schema);
  }
  return validator;
}

/** Why `doc` is not a valid ADF document (first schema error), or undefined when it is. */
export function adfProblem(doc: unknown): string | undefined {
  const v = compiled();
  if (v(doc)) return undefined;
  const e = (v.errors ?? [])[0] as ErrorObject | undefined;
  return e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'not an Atlassian Document';
}

/** Plain text of an ADF document (paragraphs on their own lines), as Jira shows ADF through API v2. */
export function adfToText(doc: unknown): string {
  const lines: string[] = [];
  const walk = (n: unknown, line: string[]): void => {
    if (typeof n !== 'object' || n === null) return;
    const node = n as { type?: string; text?: string; content?: unknown[] };
    if (node.type === 'text' && typeof node.text === 'string') line.push(node.text);
    else if (node.type === 'hardBreak') line.push('\n');
    for (const c of node.content ?? []) {
      if (typeof c === 'object' && c !== null && ['paragraph', 'heading', 'codeBlock', 'listItem', 'blockquote'].includes((c as { type?: string }).type ?? '')) {
        const inner: string[] = [];
        walk(c, inner);
        if (inner.length > 0) lines.push(inner.join(''));
      } else walk(c, line);
    }
  };
  const top: string[] = [];
  walk(doc, top);
  if (top.length > 0) lines.unshift(top.join(''));
  return lines.join('\n');
}

/** A one-paragraph ADF document holding `text` (how Jira Cloud shows a v2 plain description through v3). */
export function textToAdf(text: string): unknown {
  return { type: 'doc', version: 1, content: text === '' ? [] : [{ type: 'paragraph', content: [{ type: 'text', text }] }] };
}
