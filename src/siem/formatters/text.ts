/**
 * Control-character escapes shared by the line formats: CR, LF and TAB as
 * `\r`, `\n`, `\t`, any other C0 character or DEL as `\u00XX`. A format that
 * uses them also escapes the backslash, so the original text is recoverable.
 */
export function controlEscape(ch: string): string {
  switch (ch) {
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
    default: return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}
