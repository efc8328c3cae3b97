/**
 * Text rules of ArcSight CEF ("Implementing ArcSight Common Event Format",
 * CEF dictionary and header field table): the length of every header field
 * and extension key probectl writes, and how a value is made to fit.
 *
 * Lengths are the dictionary's, counted in UTF-16 code units (ArcSight's Java
 * strings; never fewer than the characters a receiver counts), measured on the
 * value before CEF escaping. A longer value is cut and ends in TRUNCATED; a
 * surrogate pair is never split.
 */

/** Header fields: Device Vendor and Product 63, Device Version 31, Device Event Class ID 1023, Name 512. */
export const CEF_HEADER_LIMITS = Object.freeze({ deviceVendor: 63, deviceProduct: 63, deviceVersion: 31, signatureId: 1023, name: 512 });

/**
 * String-typed extension keys probectl writes, with their dictionary lengths.
 * The other keys it writes are typed: `rt` a timestamp, `dst` an IPv4 and
 * `c6a3` an IPv6 address, `dpt` an integer port, `cn1`/`cn2` Long numbers.
 */
export const CEF_STRING_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  act: 63, cat: 1023, dhost: 1023, dvchost: 100, externalId: 40, msg: 1023, outcome: 63, suser: 1023,
  cs1: 4000, cs2: 4000, cs3: 4000, cs4: 4000, cs5: 4000, cs6: 4000,
  cs1Label: 1023, cs2Label: 1023, cs3Label: 1023, cs4Label: 1023, cs5Label: 1023, cs6Label: 1023,
  cn1Label: 1023, cn2Label: 1023, c6a3Label: 1023,
});

/** Appended to a value cut to its key's length. */
export const TRUNCATED = '…[truncated]';

/** C0 controls, DEL, C1 controls (NEL among them), and the Unicode line and paragraph separators. */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
const CONTROL_EXCEPT_LINE_BREAKS = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]/g;
const LINE_BREAK = /[\r\n]/g;
const HEADER_SPECIAL = /[\\|]/;
const HEADER_SPECIAL_ALL = /[\\|]/g;
/** Anything cefHeaderText would change: a control character, `\\` or `|`. */
const HEADER_ANY = /[\x00-\x1f\x7f-\x9f\u2028\u2029\\|]/;
const EXT_SPECIAL = /[\\=\r\n]/;
const EXT_BACKSLASH_EQUALS = /[\\=]/g;
/** Anything cefPair would change: a control character, `\\` or `=` (CR and LF are controls). */
const EXT_ANY = /[\x00-\x1f\x7f-\x9f\u2028\u2029\\=]/;

function unicodeEscape(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Cuts text to `max` UTF-16 code units, ending in TRUNCATED when anything was
 * cut; a surrogate pair is kept whole or dropped whole.
 */
export function fitLength(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - TRUNCATED.length);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${TRUNCATED}`;
}

/**
 * A header field: no control character ever reaches the line — CR and LF
 * become spaces, any other control character (TAB, ESC, BEL, DEL, NEL, U+2028,
 * …) the six characters `\uXXXX`; then cut to `max`; then `\` and `|` are
 * escaped.
 */
export function cefHeaderText(value: string, max: number): string {
  if (value.length <= max && !HEADER_ANY.test(value)) return value;
  let text = value;
  if (CONTROL.test(text)) text = text.replace(LINE_BREAK, ' ').replace(CONTROL_EXCEPT_LINE_BREAKS, unicodeEscape);
  text = fitLength(text, max);
  return HEADER_SPECIAL.test(text) ? text.replace(HEADER_SPECIAL_ALL, '\\$&') : text;
}

/** Every control character but CR and LF as the six characters `\uXXXX`. */
function extensionControls(value: string): string {
  return CONTROL.test(value) ? value.replace(CONTROL_EXCEPT_LINE_BREAKS, unicodeEscape) : value;
}

function extensionEscape(text: string): string {
  if (!EXT_SPECIAL.test(text)) return text;
  const escaped = text.replace(EXT_BACKSLASH_EQUALS, '\\$&');
  return escaped.includes('\r') || escaped.includes('\n') ? escaped.replaceAll('\r', '\\r').replaceAll('\n', '\\n') : escaped;
}

/**
 * `key=value` for a string-typed key of CEF_STRING_LIMITS: an extension value
 * keeps CR and LF for CEF's `\r` and `\n` escapes, any other control character
 * becomes the six characters `\uXXXX` (inside a JSON text that is JSON's own
 * escape, so the JSON still parses to the original); then it is cut to the
 * key's length; then `\`, `=`, CR and LF are escaped.
 */
export function cefPair(key: string, value: string): string {
  // Most values are short plain text: one scan decides that nothing changes.
  if (value.length <= (CEF_STRING_LIMITS[key] as number) && !EXT_ANY.test(value)) return `${key}=${value}`;
  return `${key}=${extensionEscape(fitLength(extensionControls(value), CEF_STRING_LIMITS[key] as number))}`;
}

/** Whether cefPair(key, value) cuts the value. */
export function cefCuts(key: string, value: string): boolean {
  const max = CEF_STRING_LIMITS[key] as number;
  if (value.length > max) return true;
  return CONTROL.test(value) && extensionControls(value).length > max;
}
