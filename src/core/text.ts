/**
 * Text from outside (a receiver's answer, a vendor's message) as the database
 * stores it without refusing it: at most `max` code points (never half a
 * surrogate pair), lone surrogates and NUL replaced by U+FFFD — PostgreSQL
 * refuses NUL in text, and a refused write would fail the commit it is part of.
 */
export function storableText(text: string, max: number): string {
  let out = text;
  if (out.length > max) {
    // Cut at `max` UTF-16 units, then drop a high surrogate left without its pair.
    out = out.slice(0, max);
    if (/[\ud800-\udbff]$/.test(out)) out = out.slice(0, -1);
  }
  return out.toWellFormed().replaceAll('\u0000', '\ufffd');
}

/** One line of text from outside for a reason or status: control characters as spaces, storable (storableText). */
export function oneLine(text: string, max: number): string {
  return storableText(text.replace(/[\u0000-\u001f\u007f]+/g, ' '), max);
}
