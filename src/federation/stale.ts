/**
 * Prometheus's staleness marker: a NaN with the bit pattern 0x7ff0000000000002
 * (`model/value/value.go` `StaleNaN`; remote-write 1.0 spec, "Stale Markers"). It ends a series
 * for queries, is never emitted by `/federate` (`web/federate.go`), and is distinct from an
 * ordinary NaN sample. Kept as raw bits: arithmetic on a NaN may not preserve its payload.
 */
const view = new DataView(new ArrayBuffer(8));

export const STALE_NAN_BITS = 0x7ff0000000000002n;

/** True when `value` carries the stale-marker bit pattern. */
export function isStaleMarker(value: number): boolean {
  if (!Number.isNaN(value)) return false;
  view.setFloat64(0, value);
  return view.getBigUint64(0) === STALE_NAN_BITS;
}

/** The stale-marker NaN as a float64. */
export function staleMarker(): number {
  view.setBigUint64(0, STALE_NAN_BITS);
  return view.getFloat64(0);
}
