import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { inTransaction, type Pool } from '../../infra/mysql/client.js';
import { fx, fxStr } from '../domain/fixed.js';
import type { PairState, Statement } from '../domain/profit-share-cycle.js';
import { parseLeadSettings } from '../domain/settings-parse.js';

/**
 * The profit-share pairs in MySQL (copy_ps_pair, copy_ps_statement) and what the copy engine
 * has recorded of them (copy_slice, copy_copier, copy_trader). Amounts are decimal strings,
 * normalized (fxStr): MySQL pads DECIMAL(36,18) with zeros.
 */

/** One funding call of the outbox: the body sent, and sent again unchanged after a crash. */
export interface Leg {
  key: string;
  from: string;
  to: string;
  amount: string;
}

/** The funding call in flight for a pair (copy_ps_pair.pending), written before the call. */
export type Pending =
  | {
      kind: 'escrow';
      leg: Leg;
      /** Σ share_accrued when the leg was built: the pair's `withheld` once it is applied */
      accrued: string;
    }
  | {
      kind: 'settle';
      by: 'cycle' | 'stop';
      /** the payout then the refund, each only if non-zero */
      legs: Leg[];
      statement: Statement;
      next: PairState;
    };

export interface PairRow {
  copierId: string;
  traderId: string;
  state: PairState;
  /** cumulative USDT moved from the copier into escrow over the pair's life */
  escrowed: string;
  pending: Pending | null;
}

/** What the engine's rows say of a pair now: what it owes into escrow, its PnL, where money goes. */
export interface PairFacts {
  /** Σ share_accrued of the trader's slices: what closes at a profit withheld */
  accrued: string;
  /** Σ realised_pnl (net of fees) of the trader's slices */
  cumulativePnl: string;
  open: boolean;
  /** the copier's exchange account; null if the copier has no row */
  copierAccount: string | null;
  /** the lead's profitShareRatio now; '0' for a trader no longer leading */
  ratio: string;
}

export interface StatementRow extends Statement {
  copierId: string;
  traderId: string;
  reason: string | null;
  by: 'cycle' | 'stop';
  createdMs: number;
}

const norm = (v: unknown): string => fxStr(fx(String(v ?? '0')));
/** slices a copier kept from a trader's liquidation are no longer the trader's (slices.ts keptTraderId) */
const TRADERS_OWN = "trader_id NOT LIKE 'kept/%'";

export class PairStore {
  constructor(private readonly pool: Pool) {}

  /** Every pair there is: each (copier, trader) with a slice of that trader, or a pair row. */
  async pairs(): Promise<{ copierId: string; traderId: string }[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT copier_id, trader_id FROM copy_slice WHERE ${TRADERS_OWN}
       UNION SELECT copier_id, trader_id FROM copy_ps_pair ORDER BY copier_id, trader_id`,
    );
    return rows.map((r) => ({ copierId: r.copier_id, traderId: r.trader_id }));
  }

  /** The pairs the withholding sweep has work for: more accrued than escrowed, or a call in flight. */
  async behind(): Promise<{ copierId: string; traderId: string }[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT s.copier_id, s.trader_id FROM
         (SELECT copier_id, trader_id, SUM(share_accrued) AS accrued FROM copy_slice WHERE ${TRADERS_OWN}
            GROUP BY copier_id, trader_id) s
         LEFT JOIN copy_ps_pair p ON p.copier_id=s.copier_id AND p.trader_id=s.trader_id
       WHERE s.accrued > COALESCE(p.escrowed, 0) OR p.pending IS NOT NULL
       ORDER BY s.copier_id, s.trader_id`,
    );
    return rows.map((r) => ({ copierId: r.copier_id, traderId: r.trader_id }));
  }

  async facts(copierId: string, traderId: string): Promise<PairFacts> {
    const [[sums]] = await this.pool.query<RowDataPacket[]>(
      'SELECT SUM(share_accrued) AS accrued, SUM(realised_pnl) AS pnl, MAX(qty > 0) AS open FROM copy_slice WHERE copier_id=? AND trader_id=?',
      [copierId, traderId],
    );
    const [[copier]] = await this.pool.query<RowDataPacket[]>(
      'SELECT account_id FROM copy_copier WHERE copier_id=?',
      [copierId],
    );
    const [[lead]] = await this.pool.query<RowDataPacket[]>(
      'SELECT settings FROM copy_trader WHERE trader_id=?',
      [traderId],
    );
    return {
      accrued: norm(sums?.accrued),
      cumulativePnl: norm(sums?.pnl),
      open: Number(sums?.open ?? 0) === 1,
      copierAccount: copier ? String(copier.account_id) : null,
      ratio: lead ? parseLeadSettings(JSON.parse(lead.settings)).profitShareRatio : '0',
    };
  }

  /** The pair's row, created empty the first time. */
  async load(copierId: string, traderId: string): Promise<PairRow> {
    await this.pool.query(
      "INSERT IGNORE INTO copy_ps_pair (copier_id, trader_id, high_water_mark, withheld, paid, refunded, escrowed, updated_ms) VALUES (?, ?, '0', '0', '0', '0', '0', ?)",
      [copierId, traderId, Date.now()],
    );
    const [[r]] = await this.pool.query<RowDataPacket[]>(
      'SELECT * FROM copy_ps_pair WHERE copier_id=? AND trader_id=?',
      [copierId, traderId],
    );
    if (!r) throw new Error(`copy_ps_pair ${copierId}/${traderId} vanished`);
    return {
      copierId,
      traderId,
      state: {
        highWaterMark: norm(r.high_water_mark),
        withheld: norm(r.withheld),
        paid: norm(r.paid),
        refunded: norm(r.refunded),
        lastSettled: r.last_settled ?? null,
      },
      escrowed: norm(r.escrowed),
      pending: r.pending ? (JSON.parse(r.pending) as Pending) : null,
    };
  }

  /** The outbox: the call about to be made, durable before it is made. */
  async setPending(copierId: string, traderId: string, pending: Pending): Promise<void> {
    await this.pool.query(
      'UPDATE copy_ps_pair SET pending=?, updated_ms=? WHERE copier_id=? AND trader_id=?',
      [JSON.stringify(pending), Date.now(), copierId, traderId],
    );
  }

  /** An escrow leg's outcome: `escrowed` what is now in escrow (unchanged if refused), `withheld` what was accrued. */
  async escrowDone(
    copierId: string,
    traderId: string,
    values: { escrowed: string; withheld: string },
  ): Promise<void> {
    await this.pool.query(
      'UPDATE copy_ps_pair SET escrowed=?, withheld=?, pending=NULL, updated_ms=? WHERE copier_id=? AND trader_id=?',
      [values.escrowed, values.withheld, Date.now(), copierId, traderId],
    );
  }

  /**
   * A settlement whose legs are all applied: its statement and the pair's new state, with
   * the outbox cleared, in one transaction. A deferred statement of the same period (a
   * `settle --now` that found the pair open) is replaced.
   */
  async settled(
    copierId: string,
    traderId: string,
    statement: Statement,
    by: 'cycle' | 'stop',
    next: PairState,
  ): Promise<void> {
    await inTransaction(this.pool, async (conn) => {
      await writeStatement(conn, copierId, traderId, statement, by, null, 'replace');
      await conn.query(
        'UPDATE copy_ps_pair SET high_water_mark=?, paid=?, refunded=?, last_settled=?, pending=NULL, updated_ms=? WHERE copier_id=? AND trader_id=?',
        [next.highWaterMark, next.paid, next.refunded, next.lastSettled, Date.now(), copierId, traderId],
      );
    });
  }

  /** A pair deferred while it holds an open slice: its statement says so (a settled one is never overwritten). */
  async deferred(copierId: string, traderId: string, statement: Statement, reason: string): Promise<void> {
    const conn = await this.pool.getConnection();
    try {
      await writeStatement(conn, copierId, traderId, statement, 'cycle', reason, 'if-deferred');
    } finally {
      conn.release();
    }
  }

  /** Statements, oldest period first, of the pairs matching `where` (a copier, a trader, or both). */
  async statements(where: { copierId?: string; traderId?: string }, limit = 1000): Promise<StatementRow[]> {
    const conds: string[] = [];
    const args: unknown[] = [];
    if (where.copierId !== undefined) {
      conds.push('copier_id=?');
      args.push(where.copierId);
    }
    if (where.traderId !== undefined) {
      conds.push('trader_id=?');
      args.push(where.traderId);
    }
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM copy_ps_statement ${conds.length > 0 ? `WHERE ${conds.join(' AND ')}` : ''}
       ORDER BY copier_id, trader_id, created_ms, period LIMIT ?`,
      [...args, limit],
    );
    return rows.map((r) => ({
      copierId: r.copier_id,
      traderId: r.trader_id,
      period: r.period,
      status: r.status,
      reason: r.reason ?? null,
      by: r.by,
      cumulativePnl: norm(r.cumulative_pnl),
      highWaterMark: norm(r.high_water_mark),
      withheld: norm(r.withheld),
      paid: norm(r.paid),
      refunded: norm(r.refunded),
      payout: norm(r.payout),
      refund: norm(r.refund),
      escrow: norm(r.escrow),
      createdMs: Number(r.created_ms),
    }));
  }
}

async function writeStatement(
  conn: PoolConnection,
  copierId: string,
  traderId: string,
  s: Statement,
  by: 'cycle' | 'stop',
  reason: string | null,
  onExisting: 'replace' | 'if-deferred',
): Promise<void> {
  const cols = [
    'status',
    'reason',
    'cumulative_pnl',
    'high_water_mark',
    'withheld',
    'paid',
    'refunded',
    'payout',
    'refund',
    'escrow',
    'by',
    'created_ms',
  ];
  const guard = (c: string) =>
    onExisting === 'replace' ? `VALUES(\`${c}\`)` : `IF(status='deferred', VALUES(\`${c}\`), \`${c}\`)`;
  // status last: the guard of the other columns reads the row's status before it changes; a
  // deferred statement written again (a run again) keeps its time
  const updated = cols.filter((c) => c !== 'status' && (onExisting === 'replace' || c !== 'created_ms'));
  const updates = [...updated, 'status'].map((c) => `\`${c}\`=${guard(c)}`);
  await conn.query(
    `INSERT INTO copy_ps_statement (copier_id, trader_id, period, ${cols.map((c) => `\`${c}\``).join(', ')})
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE ${updates.join(', ')}`,
    [
      copierId,
      traderId,
      s.period,
      s.status,
      reason,
      s.cumulativePnl,
      s.highWaterMark,
      s.withheld,
      s.paid,
      s.refunded,
      s.payout,
      s.refund,
      s.escrow,
      by,
      Date.now(),
    ],
  );
}
