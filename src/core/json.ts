import { parseJsonText } from './json-input.ts';

/**
 * `JSON.parse` for text probectl itself wrote or a peer sent (database json/jsonb
 * columns, sealed payloads, vendor responses), correct on every Node 24.
 *
 * V8's JSON parser (Node 24 and 26; Node 22 is not affected) can decode an
 * escaped object key as an earlier, different escaped key of the same length:
 * after `{"\\":0}` has been parsed once, `{"\r":1}` reads back with the key `\`
 * (nodejs/node#63785, crbug.com/521080746). A stored attribute could come back
 * renamed. Text without a backslash, or whose backslashes are all inside
 * values, goes to the native parser; text with an escaped key is read by
 * probectl's own parser, which builds objects by assignment and never hits the
 * bug. Results equal `JSON.parse` (last duplicate key wins, `__proto__` an own
 * member). Untrusted input keeps its own bounded reader (json-input.ts).
 *
 * @param text JSON text (RFC 8259)
 * @returns the parsed value
 * @throws SyntaxError for text that is not JSON, exactly as `JSON.parse`
 */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (text.indexOf('\\') === -1 || !hasEscapedKey(text)) return value;
  return parseJsonText(text, { trusted: true });
}

/**
 * Does valid JSON text hold an object key written with an escape? Outside strings JSON
 * has no quotes, so string tokens are found in order with indexOf: linear in the
 * text's length, whatever its strings hold (a regular expression over a string token
 * runs out of backtracking stack on a single string of some 8 million characters
 * and throws RangeError).
 */
export function hasEscapedKey(text: string): boolean {
  const len = text.length;
  let backslash = -1;
  for (let open = text.indexOf('"'); open !== -1; open = text.indexOf('"', open + 1)) {
    if (backslash < open) {
      backslash = text.indexOf('\\', open);
      if (backslash === -1) return false;
    }
    // The closing quote is the first one after an even run of backslashes.
    let close = text.indexOf('"', open + 1);
    for (;;) {
      if (close === -1) return false;
      let b = close - 1;
      while (b > open && text.charCodeAt(b) === 0x5c) b -= 1;
      if ((close - 1 - b) % 2 === 0) break;
      close = text.indexOf('"', close + 1);
    }
    open = close;
    if (backslash > close) continue;
    let j = close + 1;
    for (let c = text.charCodeAt(j); j < len && (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09); c = text.charCodeAt(++j));
    if (text.charCodeAt(j) === 0x3a) return true;
  }
  return false;
}
