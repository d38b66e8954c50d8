import {
  bigint,
  boolean,
  decimal,
  index,
  int,
  mysqlTable,
  primaryKey,
  text,
  varchar,
} from 'drizzle-orm/mysql-core';
import { binaryIdColumn } from './columns.js';

/**
 * Copy trading as a product (issue 12): lead applications and reviews, invite codes,
 * profit-share pairs and statements, equity snapshots for the leaderboard, and notices.
 * A user is a `copy_copier` row (its id is the user id); a user approved to lead also has a
 * `copy_trader` row under the same id. Amounts are DECIMAL(36,18), never floats.
 */
const id = (name: string, length = 64) => binaryIdColumn(name, { length }).notNull();
const amount = (name: string) => decimal(name, { precision: 36, scale: 18 });

/**
 * A user's application to lead: what it asks for (instruments, ratio, visibility, minimum
 * copy amount, signal source: JSON validated by the domain), the eligibility found at the
 * time with each criterion's value, and the operator's decision.
 */
export const copyLeadApplication = mysqlTable(
  'copy_lead_application',
  {
    applicationId: id('application_id', 32).primaryKey(),
    userId: id('user_id'),
    request: text('request').notNull(),
    /** eligibility.ts's Eligibility as JSON: every criterion with its value and threshold */
    eligibility: text('eligibility').notNull(),
    eligible: boolean('eligible').notNull(),
    /** pending, ineligible, approved or rejected */
    status: varchar('status', { length: 12 }).notNull(),
    reason: varchar('reason', { length: 255 }),
    createdMs: bigint('created_ms', { mode: 'number' }).notNull(),
    decidedMs: bigint('decided_ms', { mode: 'number' }),
  },
  (t) => [index('copy_lead_application_user').on(t.userId, t.createdMs)],
);

/**
 * A lead's standing, apart from its settings: approved or suspended, its level (limits on
 * copiers and ratio), public or private. Leads without a row (registered before
 * applications existed) are approved, level 1, public.
 */
export const copyLeadStatus = mysqlTable('copy_lead_status', {
  traderId: id('trader_id').primaryKey(),
  /** approved or suspended */
  status: varchar('status', { length: 12 }).notNull(),
  level: int('level').notNull(),
  /** public or private (followed with an invite code only) */
  visibility: varchar('visibility', { length: 8 }).notNull(),
  /** USDT: the least margin a copier's follow may put into one open */
  minCopyAmount: amount('min_copy_amount').notNull(),
  approvedMs: bigint('approved_ms', { mode: 'number' }).notNull(),
  updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
});

/** Every operator decision on a lead or an application, with its reason: the audit trail. */
export const copyLeadReview = mysqlTable(
  'copy_lead_review',
  {
    reviewId: bigint('review_id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    traderId: id('trader_id'),
    applicationId: binaryIdColumn('application_id', { length: 32 }),
    /** approve, reject, suspend, resume or level */
    action: varchar('action', { length: 12 }).notNull(),
    reason: varchar('reason', { length: 255 }).notNull(),
    actor: varchar('actor', { length: 64 }).notNull(),
    atMs: bigint('at_ms', { mode: 'number' }).notNull(),
  },
  (t) => [index('copy_lead_review_trader').on(t.traderId, t.atMs)],
);

/** An invite code of a private lead: how many follows it still admits, until when. */
export const copyInvite = mysqlTable(
  'copy_invite',
  {
    code: id('code', 32).primaryKey(),
    traderId: id('trader_id'),
    remaining: int('remaining').notNull(),
    expiresMs: bigint('expires_ms', { mode: 'number' }).notNull(),
    createdMs: bigint('created_ms', { mode: 'number' }).notNull(),
  },
  (t) => [index('copy_invite_trader').on(t.traderId)],
);

/**
 * A (copier, trader) profit-share pair between settlements (profit-share-cycle.ts PairState),
 * plus what has moved to the escrow account over the pair's life (`escrowed`, cumulative:
 * ≤ withheld, the shares accrued, until the withholding catches up; the pair's escrow is
 * escrowed − paid − refunded) and the funding call in flight, if any (`pending`: its key
 * and legs as JSON, written before the call so that a crash re-sends the same key).
 */
export const copyProfitSharePair = mysqlTable(
  'copy_ps_pair',
  {
    copierId: id('copier_id'),
    traderId: id('trader_id'),
    highWaterMark: amount('high_water_mark').notNull(),
    withheld: amount('withheld').notNull(),
    paid: amount('paid').notNull(),
    refunded: amount('refunded').notNull(),
    escrowed: amount('escrowed').notNull(),
    lastSettled: varchar('last_settled', { length: 16 }),
    pending: text('pending'),
    updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.copierId, t.traderId] }), index('copy_ps_pair_trader').on(t.traderId)],
);

/** A pair's statement for one period (profit-share-cycle.ts Statement). */
export const copyProfitShareStatement = mysqlTable(
  'copy_ps_statement',
  {
    copierId: id('copier_id'),
    traderId: id('trader_id'),
    period: varchar('period', { length: 16 }).notNull(),
    /** settled or deferred */
    status: varchar('status', { length: 12 }).notNull(),
    /** open-slice or period-settled when deferred */
    reason: varchar('reason', { length: 16 }),
    cumulativePnl: amount('cumulative_pnl').notNull(),
    highWaterMark: amount('high_water_mark').notNull(),
    withheld: amount('withheld').notNull(),
    paid: amount('paid').notNull(),
    refunded: amount('refunded').notNull(),
    payout: amount('payout').notNull(),
    refund: amount('refund').notNull(),
    escrow: amount('escrow').notNull(),
    /** cycle or stop */
    by: varchar('by', { length: 8 }).notNull(),
    createdMs: bigint('created_ms', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.copierId, t.traderId, t.period] }),
    index('copy_ps_statement_trader').on(t.traderId, t.period),
  ],
);

/**
 * An exchange account's equity at a moment, and the net deposits/withdrawals since the
 * previous snapshot (nav.ts: flows do not move the NAV). Taken on a schedule.
 */
export const copyEquitySnapshot = mysqlTable(
  'copy_equity_snapshot',
  {
    accountId: id('account_id'),
    atMs: bigint('at_ms', { mode: 'number' }).notNull(),
    equity: amount('equity').notNull(),
    /** USDT deposited (+) or withdrawn (−) since the previous snapshot of this account */
    netFlow: amount('net_flow').notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.atMs] })],
);

/** A lead's day: its AUM (its equity and its copiers' copy equity) and copier count, for levels and the board. */
export const copyLeadDay = mysqlTable(
  'copy_lead_day',
  {
    traderId: id('trader_id'),
    /** the UTC date, 2026-12-03 */
    day: varchar('day', { length: 10 }).notNull(),
    aum: amount('aum').notNull(),
    copiers: int('copiers').notNull(),
    updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.traderId, t.day] })],
);

/**
 * An event that concerns a user (a copy, a skip, a pause, an application decision, a
 * suspension, a withholding, a settlement, a refund): pushed on its WebSocket, listed over HTTP.
 * `dedupKey` makes a notice written twice (a retried batch, a settlement run again) one row.
 */
export const copyNotice = mysqlTable(
  'copy_notice',
  {
    noticeId: bigint('notice_id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    userId: id('user_id'),
    kind: varchar('kind', { length: 24 }).notNull(),
    dedupKey: id('dedup_key', 255).unique(),
    payload: text('payload').notNull(),
    createdMs: bigint('created_ms', { mode: 'number' }).notNull(),
  },
  (t) => [index('copy_notice_user').on(t.userId, t.noticeId)],
);
