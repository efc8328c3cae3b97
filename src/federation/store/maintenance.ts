/**
 * Background work of the embedded store, per tenant, each step under the
 * tenant's maintenance lock (replicas never compact or expire one tenant at
 * the same time):
 * - compact(): moves append-table samples older than a cutoff into XOR chunks,
 *   series by series in batches, merging into the window's existing chunks
 *   (late samples included); the rows are claimed with DELETE … RETURNING in
 *   the same transaction that writes the chunks, so a sample is never in
 *   neither place and at most briefly in both (reads merge duplicates).
 * - deleteBefore(): drops samples older than a cutoff (whole chunks, and the
 *   older part of a chunk straddling the cutoff), then series left without any
 *   sample and label values no series carries any more.
 */
import type { Db } from '../../store/db.ts';
import type { TenantTx } from '../../store/scope.ts';
import { CHUNK_WINDOW_MS, chunkRows, decodeChunks, decodeRecords, encodeChunks, INSERT_CHUNKS_SQL, intArray, lowerBound, mergeBufs, sliceBuf, windowStart, type EncodedChunk, type SampleBuf } from './chunks.ts';
import { activeSeriesAt, BOUNDS_SLACK_MS, inMetricsScope, lockTenant, MAINTENANCE_LOCK_CLASS, SERIES_LOCK_CLASS, type EmbeddedStoreSettings } from './settings.ts';
import type { CompactionReport, RetentionReport } from './types.ts';

const COMPACT_BATCH_SERIES = 1000;

async function replaceChunks(tx: TenantTx, old: ReadonlyArray<{ sid: number; minT: number }>, fresh: readonly EncodedChunk[]): Promise<void> {
  if (old.length > 0) {
    await tx.query('DELETE FROM metric_chunks AS c USING unnest($2::int8[], $3::int8[]) AS o(sid, mn) WHERE c.tenant_id = $1 AND c.series_id = o.sid AND c.min_t = o.mn',
      [tx.tenantId, intArray(old.map((o) => o.sid)), intArray(old.map((o) => o.minT))]);
  }
  for (let i = 0; i < fresh.length; i += 5000) {
    const r = chunkRows(fresh.slice(i, i + 5000));
    await tx.query(INSERT_CHUNKS_SQL, [tx.tenantId, r.ids, r.mins, r.maxs, r.offs, r.lens, r.blob, r.lasts]);
  }
}

async function compactBatch(tx: TenantTx, ids: number[], before: number, report: { series: number; samples: number; chunksWritten: number; conflicts: number }): Promise<void> {
  const taken = await tx.query<{ series_id: number; data: Uint8Array }>(
    `WITH d AS (DELETE FROM metric_samples WHERE tenant_id = $1 AND series_id = ANY ($2::int8[]) AND t < $3 RETURNING series_id, t, v)
     SELECT series_id, string_agg(int8send(t) || int8send(v), ''::bytea ORDER BY t) AS data FROM d GROUP BY series_id`,
    [tx.tenantId, intArray(ids), before]);
  if (taken.rows.length === 0) return;
  const fresh = new Map<number, SampleBuf>();
  const windows: Array<[number, number]> = [];
  for (const r of taken.rows) {
    const buf = decodeRecords(r.data);
    fresh.set(r.series_id, buf);
    report.series++;
    report.samples += buf.ts.length;
    let last = Number.NaN;
    for (const t of buf.ts) {
      const w = windowStart(t);
      if (w !== last) windows.push([r.series_id, w]);
      last = w;
    }
  }
  const existing = await tx.query<{ series_id: number; min_t: number; data: Uint8Array }>(
    `SELECT c.series_id, c.min_t, c.data FROM unnest($2::int8[], $3::int8[]) AS w(sid, lo)
       JOIN metric_chunks c ON c.series_id = w.sid AND c.min_t >= w.lo AND c.min_t < w.lo + ${CHUNK_WINDOW_MS}
      WHERE c.tenant_id = $1 ORDER BY c.series_id, c.min_t`,
    [tx.tenantId, intArray(windows.map((w) => w[0])), intArray(windows.map((w) => w[1]))]);
  const oldBySeries = new Map<number, Uint8Array[]>();
  for (const r of existing.rows) {
    const list = oldBySeries.get(r.series_id) ?? [];
    list.push(r.data);
    oldBySeries.set(r.series_id, list);
  }
  const out: EncodedChunk[] = [];
  for (const [sid, buf] of fresh) {
    const old = oldBySeries.get(sid);
    // Compacted samples win over late ones for the same timestamp.
    const merged = old ? mergeBufs(decodeChunks(old), buf, (same) => { if (!same) report.conflicts++; }) : buf;
    out.push(...encodeChunks(sid, merged));
  }
  await replaceChunks(tx, existing.rows.map((r) => ({ sid: r.series_id, minT: r.min_t })), out);
  report.chunksWritten += out.length;
}

/** See SeriesStoreMaintenance.compact; `beforeMs` is clamped to now − the compaction horizon. */
export async function compactTenant(db: Db, s: EmbeddedStoreSettings, tenant: string, beforeMs: number): Promise<CompactionReport> {
  const before = Math.min(beforeMs, s.now() - s.compactionHorizonMs);
  const report = { series: 0, samples: 0, chunksWritten: 0, conflicts: 0 };
  let after = 0;
  for (;;) {
    const more = await inMetricsScope(db, tenant, async (tx) => {
      await lockTenant(tx, MAINTENANCE_LOCK_CLASS);
      const batch = await tx.query<{ series_id: number }>(
        'SELECT series_id FROM metric_series WHERE tenant_id = $1 AND series_id > $2 AND first_t < $3 ORDER BY series_id LIMIT $4',
        [tx.tenantId, after, before, COMPACT_BATCH_SERIES]);
      const ids = batch.rows.map((r) => r.series_id);
      if (ids.length === 0) return false;
      after = ids[ids.length - 1] as number;
      await compactBatch(tx, ids, before, report);
      return ids.length === COMPACT_BATCH_SERIES;
    });
    if (!more) return report;
  }
}

async function trimStraddling(tx: TenantTx, cutoff: number): Promise<number> {
  const res = await tx.query<{ series_id: number; min_t: number; data: Uint8Array }>(
    `SELECT series_id, min_t, data FROM metric_chunks WHERE tenant_id = $1 AND max_t >= $2 AND max_t < $2::int8 + ${CHUNK_WINDOW_MS} AND min_t < $2`,
    [tx.tenantId, cutoff]);
  if (res.rows.length === 0) return 0;
  const out: EncodedChunk[] = [];
  for (const r of res.rows) {
    const buf = decodeChunks([r.data]);
    out.push(...encodeChunks(r.series_id, sliceBuf(buf, lowerBound(buf.ts, cutoff), buf.ts.length)));
  }
  await replaceChunks(tx, res.rows.map((r) => ({ sid: r.series_id, minT: r.min_t })), out);
  return res.rows.length;
}

/** See SeriesStoreMaintenance.deleteBefore. */
export async function expireTenant(db: Db, s: EmbeddedStoreSettings, tenant: string, cutoffMs: number): Promise<RetentionReport> {
  return inMetricsScope(db, tenant, async (tx) => {
    await lockTenant(tx, MAINTENANCE_LOCK_CLASS);
    const samples = await tx.query('DELETE FROM metric_samples WHERE tenant_id = $1 AND t < $2', [tx.tenantId, cutoffMs]);
    const chunks = await tx.query('DELETE FROM metric_chunks WHERE tenant_id = $1 AND max_t < $2', [tx.tenantId, cutoffMs]);
    const trimmed = await trimStraddling(tx, cutoffMs);
    // New series are created under this lock: none can appear half-indexed meanwhile.
    await lockTenant(tx, SERIES_LOCK_CLASS);
    // A series an append touched lately keeps its row (the append's row lock and
    // seen_ms update exclude it), so samples never land on a deleted series.
    const series = await tx.query(
      `DELETE FROM metric_series AS s WHERE s.tenant_id = $1 AND s.last_t < $2::int8 - ${BOUNDS_SLACK_MS} AND s.seen_ms < $3
          AND NOT EXISTS (SELECT 1 FROM metric_samples x WHERE x.series_id = s.series_id)
          AND NOT EXISTS (SELECT 1 FROM metric_chunks c WHERE c.series_id = s.series_id)`,
      [tx.tenantId, cutoffMs, s.now() - 2 * BOUNDS_SLACK_MS]);
    if (series.rowCount > 0) {
      // The pairs still carried, as one hash of every series' labels (linear in the tenant's series;
      // a containment test per value read the series once per value).
      await tx.query(
        `DELETE FROM metric_label_values AS lv WHERE lv.tenant_id = $1
            AND NOT EXISTS (SELECT 1 FROM metric_series s CROSS JOIN LATERAL jsonb_each_text(s.labels) AS e
                             WHERE s.tenant_id = $1 AND e.key = lv.name AND e.value = lv.value)`,
        [tx.tenantId]);
    }
    return { recentSamplesDeleted: samples.rowCount, chunksDeleted: chunks.rowCount, chunksTrimmed: trimmed, seriesDeleted: series.rowCount };
  });
}

/** Series of the tenant that received a sample within the active window. */
export async function countActive(db: Db, s: EmbeddedStoreSettings, tenant: string): Promise<number> {
  return inMetricsScope(db, tenant, (tx) => activeSeriesAt(tx, s, s.now()));
}
