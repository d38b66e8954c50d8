import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import { DRIFT_KEY_PREFIX, type SignalRecord } from '../domain/drift.js';
import { fx } from '../domain/fixed.js';
import type { TraderSignal } from '../domain/signal.js';
import type { Slice } from '../domain/slices.js';
import { sliceRow, sliceUpsert } from '../fanout/copy-store.js';

/** A fanned-out signal of a followed trader whose copy for the copier may have drifted. */
export interface SignalCandidate {
  copierId: string;
  signalKey: string;
  seq: number;
  signal: TraderSignal;
  record: SignalRecord;
}

/** A drift drift repair could not repair (copy_drift), as listed and reported. */
export interface DriftReport {
  copierId: string;
  driftKey: string;
  kind: string;
  traderId: string | null;
  instrument: string;
  side: string;
  sliceQty: string | null;
  exchangeQty: string | null;
  detail: string;
  firstMs: number;
  lastMs: number;
}

/**
 * What drift repair reads and writes in MySQL: the signals whose copy may have drifted, and
 * the reports of what it could not repair. Off the hot path; one query per copier batch.
 */
export class DriftStore {
  constructor(
    private readonly pool: Pool,
    /** the fan-out partition whose copiers this store reads for: its copy_signal rows (0 with one partition) */
    private readonly part = 0,
  ) {}

  /**
   * The fanned-out signals since `sinceMs` of the traders each copier follows (not stopped)
   * for which the copier has no filled order and no skip recorded, or a filled open with an
   * `unfilled-remainder` skip, and no repair (`drift/{key}`) recorded. Only signals received
   * after the follow's last change: before it, the copier may not have followed yet (a
   * follow's row does not keep when it began). `doneSinceMs`: only signals finished since
   * (what an earlier look settled is not joined again). Oldest first.
   */
  async candidates(
    copierIds: readonly string[],
    sinceMs: number,
    doneSinceMs = 0,
  ): Promise<SignalCandidate[]> {
    if (copierIds.length === 0) return [];
    // a signal finishes after it is received: nothing received since `sinceMs` finished
    // before it. The first seq of that window (the index on done_ms, seq) bounds the join to
    // the window of each trader's signals (the index on trader_id, seq), not its whole history.
    const doneFloor = Math.max(doneSinceMs, sinceMs);
    const [[first]] = await this.pool.query<RowDataPacket[]>(
      'SELECT MIN(seq) AS seq FROM copy_signal WHERE done_ms >= ?',
      [doneFloor],
    );
    if (first?.seq === null || first?.seq === undefined) return [];
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT f.copier_id, s.signal_key, s.seq, s.payload, o.status AS order_status, k.reason AS skip_reason
         FROM copy_follow f
         JOIN copy_signal s ON s.trader_id = f.trader_id
         LEFT JOIN copy_order o ON o.signal_key = s.signal_key AND o.copier_id = f.copier_id
         LEFT JOIN copy_skip k ON k.signal_key = s.signal_key AND k.copier_id = f.copier_id
        WHERE f.copier_id IN (?) AND f.status <> 'stopped'
          AND s.part = ? AND s.seq >= ? AND s.done_ms >= ? AND (s.outcome IS NULL OR s.outcome = 'fanned-out')
          AND s.received_ms >= GREATEST(f.updated_ms, ?)
          AND ((o.status IS NULL OR o.status <> 'FILLED') AND k.reason IS NULL
               OR o.status = 'FILLED' AND k.reason = 'unfilled-remainder')
          AND NOT EXISTS (SELECT 1 FROM copy_order r
                           WHERE r.signal_key = CONCAT(?, s.signal_key) AND r.copier_id = f.copier_id)
          AND NOT EXISTS (SELECT 1 FROM copy_skip r
                           WHERE r.signal_key = CONCAT(?, s.signal_key) AND r.copier_id = f.copier_id)
        ORDER BY s.seq`,
      [copierIds, this.part, Number(first.seq), doneFloor, sinceMs, DRIFT_KEY_PREFIX, DRIFT_KEY_PREFIX],
    );
    const out: SignalCandidate[] = [];
    for (const r of rows) {
      const signal = signalOf(r.payload as string, r.signal_key as string);
      // close-outs and other requests have rows too: only a trader's own signals are judged
      if (signal === null) continue;
      out.push({
        copierId: r.copier_id as string,
        signalKey: r.signal_key as string,
        seq: Number(r.seq),
        signal,
        record: {
          orderStatus: (r.order_status as string | null) ?? null,
          skipReason: (r.skip_reason as string | null) ?? null,
        },
      });
    }
    return out;
  }

  /** Whether any copy order or skip of the copier is recorded under `signalKey`. */
  async hasRecord(copierId: string, signalKey: string): Promise<boolean> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT 1 FROM copy_order WHERE signal_key=? AND copier_id=? UNION SELECT 1 FROM copy_skip WHERE signal_key=? AND copier_id=?',
      [signalKey, copierId, signalKey, copierId],
    );
    return rows.length > 0;
  }

  /** What became of a repair placed under `key`: filled, or why not (the refusal's code, the cancel's detail). */
  async outcomeOf(copierId: string, key: string): Promise<{ filled: boolean; why: string }> {
    const [orders] = await this.pool.query<RowDataPacket[]>(
      'SELECT status, error_code FROM copy_order WHERE signal_key=? AND copier_id=?',
      [key, copierId],
    );
    if (orders[0]?.status === 'FILLED') return { filled: true, why: '' };
    const [skips] = await this.pool.query<RowDataPacket[]>(
      'SELECT reason, detail FROM copy_skip WHERE signal_key=? AND copier_id=?',
      [key, copierId],
    );
    const o = orders[0];
    const k = skips[0];
    const why = o
      ? `${o.status} ${o.error_code ?? ''}`.trim()
      : k
        ? `${k.reason}: ${k.detail ?? ''}`
        : 'no answer';
    return { filled: false, why };
  }

  /**
   * Whether the trader closed its whole position on the signal's instrument and side after
   * the signal (a later fanned-out close to zero): a lost open of it is moot by then.
   */
  async closedSince(s: TraderSignal, seq: number): Promise<boolean> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT signal_key, payload FROM copy_signal WHERE trader_id=? AND part=? AND seq > ? AND done_ms IS NOT NULL ORDER BY seq',
      [s.traderId, this.part, seq],
    );
    return rows.some((r) => {
      const later = signalOf(r.payload as string, r.signal_key as string);
      return (
        later !== null &&
        later.action === 'close' &&
        later.instrument === s.instrument &&
        later.side === s.side &&
        fx(later.qty) >= fx(later.positionBefore)
      );
    });
  }

  /** A trader's signals received since `sinceMs`, oldest first, with when each finished (null: in flight). */
  async recentSignals(
    traderId: string,
    sinceMs: number,
  ): Promise<{ signalKey: string; signal: TraderSignal; doneMs: number | null }[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT signal_key, payload, done_ms FROM copy_signal WHERE trader_id=? AND part=? AND received_ms >= ? ORDER BY seq',
      [traderId, this.part, sinceMs],
    );
    const out: { signalKey: string; signal: TraderSignal; doneMs: number | null }[] = [];
    for (const r of rows) {
      const signal = signalOf(r.payload as string, r.signal_key as string);
      if (signal === null) continue;
      out.push({
        signalKey: r.signal_key as string,
        signal,
        doneMs: r.done_ms === null ? null : Number(r.done_ms),
      });
    }
    return out;
  }

  /** The traders each copier follows or followed (a stopped follow's kept slices are still on its account), by copier. */
  async followed(copierIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (copierIds.length === 0) return out;
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT copier_id, trader_id FROM copy_follow WHERE copier_id IN (?) ORDER BY copier_id, trader_id',
      [copierIds],
    );
    for (const r of rows) {
      const list = out.get(r.copier_id as string) ?? [];
      list.push(r.trader_id as string);
      out.set(r.copier_id as string, list);
    }
    return out;
  }

  /**
   * Records (or refreshes) a report; a report resolved before and seen again is open again
   * from now. Returns when it was first seen, which names its notice (told once).
   */
  async report(r: Omit<DriftReport, 'firstMs' | 'lastMs'>, now = Date.now()): Promise<number> {
    // assignments run left to right: first_ms reads resolved_ms before it is cleared
    await this.pool.query(
      `INSERT INTO copy_drift (copier_id, drift_key, kind, trader_id, instrument, side, slice_qty, exchange_qty, detail, first_ms, last_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE first_ms = IF(resolved_ms IS NULL, first_ms, VALUES(first_ms)), resolved_ms = NULL,
         last_ms = VALUES(last_ms), kind = VALUES(kind), slice_qty = VALUES(slice_qty),
         exchange_qty = VALUES(exchange_qty), detail = VALUES(detail)`,
      [
        r.copierId,
        r.driftKey,
        r.kind,
        r.traderId,
        r.instrument,
        r.side,
        r.sliceQty,
        r.exchangeQty,
        r.detail.slice(0, 255),
        now,
        now,
      ],
    );
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT first_ms FROM copy_drift WHERE copier_id=? AND drift_key=?',
      [r.copierId, r.driftKey],
    );
    return Number(rows[0]?.first_ms ?? now);
  }

  /** The copier's open position reports other than `still` are resolved: its slices add up again. */
  async resolvePositions(copierId: string, still: readonly string[], now = Date.now()): Promise<void> {
    await this.pool.query(
      `UPDATE copy_drift SET resolved_ms=? WHERE copier_id=? AND kind='position-mismatch' AND resolved_ms IS NULL${
        still.length > 0 ? ' AND drift_key NOT IN (?)' : ''
      }`,
      still.length > 0 ? [now, copierId, still] : [now, copierId],
    );
  }

  /** The copiers among `copierIds` with an open position report (to resolve once they agree). */
  async withOpenPositionReports(copierIds: readonly string[]): Promise<Set<string>> {
    if (copierIds.length === 0) return new Set();
    const [rows] = await this.pool.query<RowDataPacket[]>(
      "SELECT DISTINCT copier_id FROM copy_drift WHERE copier_id IN (?) AND kind='position-mismatch' AND resolved_ms IS NULL",
      [copierIds],
    );
    return new Set(rows.map((r) => r.copier_id as string));
  }

  /** Slices drift repair set (a position changed by hand), as absolute values: written twice, the same rows. */
  async writeSlices(
    slices: readonly { slice: Slice; shareAccrued: string }[],
    now = Date.now(),
  ): Promise<void> {
    if (slices.length === 0) return;
    await this.pool.query(sliceUpsert('?'), [
      slices.map(({ slice, shareAccrued }) => sliceRow(slice, shareAccrued, now)),
    ]);
  }

  /** Every open report, oldest first: what `tradeflow copy drift` lists. */
  async open(): Promise<DriftReport[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT copier_id, drift_key, kind, trader_id, instrument, side, slice_qty, exchange_qty, detail, first_ms, last_ms
         FROM copy_drift WHERE resolved_ms IS NULL ORDER BY first_ms, copier_id, drift_key`,
    );
    return rows.map((r) => ({
      copierId: r.copier_id as string,
      driftKey: r.drift_key as string,
      kind: r.kind as string,
      traderId: (r.trader_id as string | null) ?? null,
      instrument: r.instrument as string,
      side: r.side as string,
      sliceQty: decimalOrNull(r.slice_qty),
      exchangeQty: decimalOrNull(r.exchange_qty),
      detail: r.detail as string,
      firstMs: Number(r.first_ms),
      lastMs: Number(r.last_ms),
    }));
  }

  async openCount(): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM copy_drift WHERE resolved_ms IS NULL',
    );
    return Number(rows[0]?.n ?? 0);
  }
}

/** A DECIMAL(36,18) as its shortest decimal string ("2.500000000000000000" → "2.5"). */
function decimalOrNull(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A trader's signal as the fan-out stored it (copy_signal.payload), or null for any other row. */
function signalOf(payload: string, signalKey: string): TraderSignal | null {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const s = v as Partial<TraderSignal>;
  if (
    typeof s.signalId !== 'string' ||
    typeof s.traderId !== 'string' ||
    `${s.signalId}@${s.traderId}` !== signalKey ||
    (s.action !== 'open' && s.action !== 'close') ||
    (s.side !== 'long' && s.side !== 'short') ||
    typeof s.instrument !== 'string' ||
    typeof s.qty !== 'string' ||
    typeof s.price !== 'string' ||
    typeof s.positionBefore !== 'string' ||
    typeof s.leverage !== 'number'
  ) {
    return null;
  }
  return s as TraderSignal;
}
