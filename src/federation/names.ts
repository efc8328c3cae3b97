/**
 * Prometheus's legacy name scheme (https://prometheus.io/docs/concepts/data_model/#metric-names-and-labels):
 * the names every Prometheus 2.x parser, the remote-write 1.0 spec and the text format take as they are.
 * Pure predicates, ASCII only (a UTF-8 name is not legacy).
 */

/** `[a-zA-Z_][a-zA-Z0-9_]*`: a label name. */
export function isLegacyLabelName(name: string): boolean {
  return isLegacyName(name, false);
}

/** `[a-zA-Z_:][a-zA-Z0-9_:]*`: a metric name. */
export function isLegacyMetricName(name: string): boolean {
  return isLegacyName(name, true);
}

function isLegacyName(name: string, colon: boolean): boolean {
  if (name === '') return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (colon && c === 58) || (i > 0 && c >= 48 && c <= 57);
    if (!ok) return false;
  }
  return true;
}
