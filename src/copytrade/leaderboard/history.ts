import type { RowDataPacket } from 'mysql2/promise';
import { money } from '../../domain/money.js';
import type { Pool } from '../../infra/mysql/client.js';
import {
  type AccountHistory,
  BOARD_WINDOWS,
  type CopiedOpen,
  type CopierHistory,
  closedPositions,
  type LeadHistory,
  type LeadMetrics,
  leadCurve,
  leadMetrics,
} from '../domain/leaderboard.js';
import { DAY_MS, inWindow, type NavPoint, type WindowName } from '../domain/nav.js';
import type { LeadSettings } from '../domain/settings.js';
import { parseLeadSettings } from '../domain/settings-parse.js';
import type { TraderSignal } from '../domain/signal.js';

/**
 * A lead's history read from MySQL (copy_trader, copy_lead_status, copy_follow, copy_copier,
 * copy_equity_snapshot, copy_signal, copy_order) and its board entry computed from it.
 * Nothing here reads a clock: a lead's entry is as of its last event (its last snapshot or
 * its last signal), so a rebuild from the same rows gives the same entry as the update that
 * followed that event.
 */

const HISTORY_MS = 90 * DAY_MS;
const NAV_POINTS_SHOWN = 120;

/** What the board keeps of a listed lead: its public profile, a metric object per window, its NAV curve. */
export interface LeadEntry {
  traderId: string;
  listed: boolean;
  asOf: number;
  profile: LeadProfile;
  metrics: Record<WindowName, LeadMetrics>;
  /** NAV points per window, thinned to at most NAV_POINTS_SHOWN (first and last kept) */
  nav: Record<WindowName, NavPoint[]>;
}

export interface LeadProfile {
  traderId: string;
  instruments: readonly string[];
  maxCopiers: number;
  profitShareRatio: string;
  signalSource: string;
  status: string;
  visibility: string;
  /** since when it leads: its approval, else its first equity snapshot */
  leadingSinceMs: number | null;
  daysLed: number;
}

interface LeadRow {
  settings: LeadSettings;
  status: string;
  visibility: string;
  approvedMs: number | null;
}

/** A lead without a copy_lead_status row is approved and public (it predates applications). */
export const isListed = (r: { status: string; visibility: string }): boolean =>
  r.status === 'approved' && r.visibility === 'public';

async function leadRows(pool: Pool, traderIds?: readonly string[]): Promise<LeadRow[]> {
  const where = traderIds ? 'WHERE t.trader_id IN (?)' : '';
  if (traderIds?.length === 0) return [];
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT t.settings, s.status, s.visibility, s.approved_ms
       FROM copy_trader t LEFT JOIN copy_lead_status s ON s.trader_id = t.trader_id ${where}
      ORDER BY t.trader_id`,
    traderIds ? [traderIds] : [],
  );
  return rows.map((r) => ({
    settings: parseLeadSettings(JSON.parse(r.settings)),
    status: r.status ?? 'approved',
    visibility: r.visibility ?? 'public',
    approvedMs: r.approved_ms === null ? null : Number(r.approved_ms),
  }));
}

/** Every trader id in copy_trader. */
export async function allLeadIds(pool: Pool): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT trader_id FROM copy_trader ORDER BY trader_id');
  return rows.map((r) => String(r.trader_id));
}

/** A follow's exchange account: the copier's, or its sub account. */
export const followAccount = (accountId: string, settings: string): string => {
  const account = JSON.parse(settings).account as { type: string; subAccount?: string } | undefined;
  return account?.type === 'sub' ? `${accountId}/${account.subAccount}` : accountId;
};

export interface FollowRow {
  copierId: string;
  traderId: string;
  status: string;
  account: string;
}

/** Active and paused follows, of these leads' copiers only when `traderIds` is given (all their follows: shares need them). */
export async function liveFollows(pool: Pool, traderIds?: readonly string[]): Promise<FollowRow[]> {
  const narrow = traderIds
    ? "AND f.copier_id IN (SELECT copier_id FROM copy_follow WHERE trader_id IN (?) AND status<>'stopped')"
    : '';
  if (traderIds?.length === 0) return [];
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT f.copier_id, f.trader_id, f.status, f.settings, c.account_id
       FROM copy_follow f JOIN copy_copier c ON c.copier_id = f.copier_id
      WHERE f.status<>'stopped' ${narrow} ORDER BY f.copier_id, f.trader_id`,
    traderIds ? [traderIds] : [],
  );
  return rows.map((r) => ({
    copierId: String(r.copier_id),
    traderId: String(r.trader_id),
    status: String(r.status),
    account: followAccount(String(r.account_id), r.settings),
  }));
}

/** 1 / the number of leads each account follows: the part of it that counts for each of them. */
export function sharesOf(follows: readonly FollowRow[]): Map<string, number> {
  const leads = new Map<string, number>();
  for (const f of follows) leads.set(f.account, (leads.get(f.account) ?? 0) + 1);
  return leads;
}

async function lastSnapshotMs(pool: Pool, account: string): Promise<{ first: number; last: number } | null> {
  const [[r]] = await pool.query<RowDataPacket[]>(
    'SELECT MIN(at_ms) AS first, MAX(at_ms) AS last FROM copy_equity_snapshot WHERE account_id=?',
    [account],
  );
  return r?.last === null || r?.last === undefined ? null : { first: Number(r.first), last: Number(r.last) };
}

async function accountHistories(
  pool: Pool,
  accounts: readonly string[],
  from: number,
  to: number,
): Promise<Map<string, AccountHistory>> {
  const out = new Map<string, AccountHistory>(accounts.map((a) => [a, { equity: [], flows: [] }]));
  if (accounts.length === 0) return out;
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT account_id, at_ms, equity, net_flow FROM copy_equity_snapshot
      WHERE account_id IN (?) AND at_ms BETWEEN ? AND ? ORDER BY account_id, at_ms`,
    [accounts, from, to],
  );
  for (const r of rows) {
    const h = out.get(String(r.account_id));
    if (!h) continue;
    const at = Number(r.at_ms);
    h.equity.push({ at, equity: String(r.equity) });
    h.flows.push({ at, amount: String(r.net_flow) });
  }
  return out;
}

/** The lead's signals in acceptance order (close-out rows of the same trader are not signals). */
async function signalsOf(pool: Pool, traderId: string): Promise<TraderSignal[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT payload FROM copy_signal WHERE trader_id=? AND part=0 AND done_ms IS NOT NULL ORDER BY seq',
    [traderId],
  );
  const out: TraderSignal[] = [];
  for (const r of rows) {
    const s = JSON.parse(r.payload) as Partial<TraderSignal>;
    if (s.action === 'open' || s.action === 'close') out.push(s as TraderSignal);
  }
  return out;
}

/** The filled copies of the lead's opens since `from`, counted and summed per open in MySQL (copy_order is keyed by signal). */
async function copiesOf(pool: Pool, opens: readonly TraderSignal[], from: number): Promise<CopiedOpen[]> {
  const recent = opens.filter((s) => s.filledMs >= from);
  const byKey = new Map(recent.map((s) => [`${s.signalId}@${s.traderId}`, s]));
  const out: CopiedOpen[] = [];
  const keys = [...byKey.keys()];
  for (let i = 0; i < keys.length; i += 500) {
    const [rows] = await pool.query<RowDataPacket[]>(
      `SELECT signal_key, COUNT(*) AS copies, SUM(fill_price) AS fill_sum FROM copy_order
        WHERE signal_key IN (?) AND status='FILLED' AND fill_price IS NOT NULL AND action='open'
        GROUP BY signal_key`,
      [keys.slice(i, i + 500)],
    );
    for (const r of rows) {
      const s = byKey.get(String(r.signal_key));
      if (s)
        out.push({
          at: s.filledMs,
          side: s.side,
          leadPrice: s.price,
          copies: Number(r.copies),
          fillSum: money(r.fill_sum).toFixed(),
        });
    }
  }
  return out;
}

function thin(points: readonly NavPoint[], most = NAV_POINTS_SHOWN): NavPoint[] {
  if (points.length <= most) return [...points];
  const step = (points.length - 1) / (most - 1);
  return Array.from({ length: most }, (_, i) => points[Math.round(i * step)] as NavPoint);
}

/**
 * The board entries of these leads (all of copy_trader when left out), unlisted ones
 * included with `listed` false so that a caller can take them off the board.
 */
export async function computeEntries(pool: Pool, traderIds?: readonly string[]): Promise<LeadEntry[]> {
  const leads = await leadRows(pool, traderIds);
  if (leads.length === 0) return [];
  const follows = await liveFollows(
    pool,
    leads.map((l) => l.settings.traderId),
  );
  const shares = sharesOf(follows);
  const out: LeadEntry[] = [];
  for (const lead of leads) {
    const traderId = lead.settings.traderId;
    const mine = follows.filter((f) => f.traderId === traderId);
    const signals = await signalsOf(pool, traderId);
    const span = await lastSnapshotMs(pool, traderId);
    const asOf = Math.max(span?.last ?? 0, signals[signals.length - 1]?.filledMs ?? 0);
    const from = asOf - HISTORY_MS;
    const accounts = await accountHistories(pool, [traderId, ...mine.map((f) => f.account)], from, asOf);
    const copierAccounts: CopierHistory[] = mine.map((f) => ({
      copierId: f.copierId,
      share: money(1)
        .div(shares.get(f.account) ?? 1)
        .toFixed(),
      ...(accounts.get(f.account) ?? { equity: [], flows: [] }),
    }));
    const history: LeadHistory = {
      traderId,
      maxCopiers: lead.settings.maxCopiers,
      copiers: mine.filter((f) => f.status === 'active').length,
      lead: accounts.get(traderId) ?? { equity: [], flows: [] },
      closes: closedPositions(signals),
      copierAccounts,
      copies: await copiesOf(
        pool,
        signals.filter((s) => s.action === 'open'),
        from,
      ),
    };
    const curve = leadCurve(history);
    const since = lead.approvedMs ?? span?.first ?? null;
    const metrics = {} as Record<WindowName, LeadMetrics>;
    const nav = {} as Record<WindowName, NavPoint[]>;
    for (const w of BOARD_WINDOWS) {
      metrics[w] = leadMetrics(history, w, asOf);
      nav[w] = thin(inWindow(curve, w, asOf));
    }
    out.push({
      traderId,
      listed: isListed(lead),
      asOf,
      profile: {
        traderId,
        instruments: lead.settings.instruments,
        maxCopiers: lead.settings.maxCopiers,
        profitShareRatio: lead.settings.profitShareRatio,
        signalSource: lead.settings.signalSource,
        status: lead.status,
        visibility: lead.visibility,
        leadingSinceMs: since,
        daysLed: since === null ? 0 : Math.max(0, Math.floor((asOf - since) / DAY_MS)),
      },
      metrics,
      nav,
    });
  }
  return out;
}
