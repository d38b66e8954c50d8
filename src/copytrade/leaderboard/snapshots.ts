import type { RowDataPacket } from 'mysql2/promise';
import type { EquityView, TradeHistoryView } from '../../clients/exchange-wire.js';
import { type Money, money } from '../../domain/money.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { allLeadIds, liveFollows, sharesOf } from './history.js';

/**
 * Equity snapshots for the leaderboard, one round at a time (the copy engine runs a round
 * every TF_EQUITY_SNAPSHOT_MS while it holds the fan-out role, so one process takes them):
 * every lead's account (named as the lead) and every account that follows a lead (active
 * or paused) is read from the exchange, and stored in copy_equity_snapshot at the round's
 * time with
 *   net_flow = its cumulative net deposits now − at its previous snapshot,
 * so that Σ net_flow over an account's snapshots is its cumulative net deposits (its first
 * snapshot carries all deposits before it; nav.ts ignores flows at the first point, as it
 * should: they are in that equity). Then each lead's day row (copy_lead_day, the UTC day of
 * the round, the last round of the day standing):
 *   aum = the lead's equity + Σ over its active or paused copiers of the account's equity × share
 *   (share = 1 / the number of leads the account follows, as the board's AUM: leaderboard.ts)
 *   copiers = its active follows.
 * An account the exchange does not answer for is left out of the round (logged); its next
 * snapshot's net_flow covers the gap.
 *
 * A lead's record starts before it led: the first time a lead's account is seen (no snapshot
 * of it stored), the balance points of its trade history on the exchange are stored first,
 * as snapshots of its wallet with their deposits as flows. The exchange's history ends at the
 * wallet it holds now, so the live snapshot continues it with no flow of its own.
 */
export interface EquitySource {
  equity(account: string): Promise<EquityView>;
  history(account: string): Promise<TradeHistoryView>;
}

export interface SnapshotRound {
  at: number;
  accounts: number;
  missed: string[];
  leads: number;
}

const CONCURRENCY = 8;

export class EquitySnapshotter {
  /** cumulative net deposits at each account's last stored snapshot, read from MySQL once */
  private readonly cumulative = new Map<string, Money>();
  /** accounts with no snapshot stored when first read */
  private readonly unseen = new Set<string>();

  constructor(
    private readonly pool: Pool,
    private readonly exchange: EquitySource,
    private readonly log: Logger,
  ) {}

  async take(at: number): Promise<SnapshotRound> {
    const leads = await allLeadIds(this.pool);
    const follows = await liveFollows(this.pool);
    const accounts = [...new Set([...leads, ...follows.map((f) => f.account)])];
    await this.loadCumulative(accounts);
    const equity = new Map<string, EquityView>();
    const missed: string[] = [];
    for (let i = 0; i < accounts.length; i += CONCURRENCY) {
      await Promise.all(
        accounts.slice(i, i + CONCURRENCY).map(async (account) => {
          try {
            equity.set(account, await this.exchange.equity(account));
          } catch (err) {
            missed.push(account);
            this.log.warn({ err, account }, 'equity snapshot: the exchange did not answer for the account');
          }
        }),
      );
    }
    for (const account of leads) {
      const live = equity.get(account);
      if (live && this.unseen.has(account)) await this.backfill(account, at, live);
    }
    const rows = [...equity.values()].map((v) => {
      const flow = money(v.netDeposits).minus(this.cumulative.get(v.account) ?? 0);
      return [v.account, at, v.equity, flow.toFixed()];
    });
    if (rows.length > 0) {
      await this.pool.query(
        'INSERT IGNORE INTO copy_equity_snapshot (account_id, at_ms, equity, net_flow) VALUES ?',
        [rows],
      );
      for (const v of equity.values()) this.cumulative.set(v.account, money(v.netDeposits));
    }
    const shares = sharesOf(follows);
    const day = new Date(at).toISOString().slice(0, 10);
    const days: (string | number)[][] = [];
    for (const traderId of leads) {
      const own = equity.get(traderId);
      if (!own) continue;
      let aum = money(own.equity);
      let copiers = 0;
      for (const f of follows) {
        if (f.traderId !== traderId) continue;
        if (f.status === 'active') copiers++;
        const e = equity.get(f.account);
        if (e) aum = aum.plus(money(e.equity).div(shares.get(f.account) ?? 1));
      }
      days.push([traderId, day, aum.toDecimalPlaces(18).toFixed(), copiers, at]);
    }
    if (days.length > 0) {
      await this.pool.query(
        `INSERT INTO copy_lead_day (trader_id, day, aum, copiers, updated_ms) VALUES ?
         ON DUPLICATE KEY UPDATE aum=VALUES(aum), copiers=VALUES(copiers), updated_ms=VALUES(updated_ms)`,
        [days],
      );
    }
    return { at, accounts: equity.size, missed, leads: days.length };
  }

  private async loadCumulative(accounts: readonly string[]): Promise<void> {
    const unknown = accounts.filter((a) => !this.cumulative.has(a));
    for (let i = 0; i < unknown.length; i += 500) {
      const part = unknown.slice(i, i + 500);
      const [rows] = await this.pool.query<RowDataPacket[]>(
        'SELECT account_id, SUM(net_flow) AS total FROM copy_equity_snapshot WHERE account_id IN (?) GROUP BY account_id',
        [part],
      );
      const found = new Map(rows.map((r) => [String(r.account_id), String(r.total)]));
      for (const a of part) {
        this.cumulative.set(a, money(found.get(a) ?? 0));
        if (!found.has(a)) this.unseen.add(a);
      }
    }
  }

  /** A lead's past from the exchange's history, before its first live snapshot (at `at`). */
  private async backfill(account: string, at: number, live: EquityView): Promise<void> {
    const { balances } = await this.exchange.history(account);
    const rows = balances.filter((b) => b.atMs < at).map((b) => [account, b.atMs, b.balance, b.flow]);
    if (rows.length > 0) {
      await this.pool.query(
        'INSERT IGNORE INTO copy_equity_snapshot (account_id, at_ms, equity, net_flow) VALUES ?',
        [rows],
      );
    }
    // the history ends at today's wallet: what the exchange counts as deposited is in it
    this.cumulative.set(account, money(live.netDeposits));
    this.unseen.delete(account);
  }
}
