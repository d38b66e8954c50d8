import {
  bigint,
  binary,
  decimal,
  index,
  int,
  mysqlTable,
  primaryKey,
  smallint,
  text,
  varbinary,
  varchar,
} from 'drizzle-orm/mysql-core';
import { binaryIdColumn } from './columns.js';

/**
 * Copy trading's tables, in the engine's database. Ids and keys are ASCII and compared
 * byte for byte (VARBINARY, see columns.ts); credentials are kept hashed or encrypted (secrets.ts); amounts are DECIMAL(36,18), never floats; settings are JSON validated by
 * src/copytrade/domain before they are written.
 */
const id = (name: string, length = 64) => binaryIdColumn(name, { length }).notNull();
/** a trader id, or `kept/{traderId}` for the slices a copier kept from a liquidation (slices.ts) */
const KEPT_ID_LENGTH = 80;
const amount = (name: string) => decimal(name, { precision: 36, scale: 18 });

/** A lead trader: how it authenticates its signal frames, and its lead settings. */
export const copyTrader = mysqlTable('copy_trader', {
  traderId: id('trader_id').primaryKey(),
  apiKey: id('api_key').unique(),
  /**
   * the signing secret, AES-256-GCM under TF_SECRET_KEY: iv | tag | ciphertext (secrets.ts);
   * null on a trader registered while secrets were plaintext, which signs nothing until given a new one
   */
  secretEnc: varbinary('secret_enc', { length: 256 }),
  settings: text('settings').notNull(),
  updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
});

/** A copier: the token it uses on the API and the push WebSocket, and its exchange account. */
export const copyCopier = mysqlTable('copy_copier', {
  copierId: id('copier_id').primaryKey(),
  /**
   * SHA-256 of the copier's token (the token itself is shown once and kept nowhere); null on a
   * copier registered while tokens were plaintext, which authenticates nothing until given a new one
   */
  tokenHash: binary('token_hash', { length: 32 }).unique(),
  accountId: id('account_id'),
  /** single-currency, multi-currency or portfolio: which balance backs a new position */
  marginKind: varchar('margin_kind', { length: 16 }).notNull(),
  updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
});

/** A copier following a trader, with its follow settings (mode, leverage, caps, ...). */
export const copyFollow = mysqlTable(
  'copy_follow',
  {
    copierId: id('copier_id'),
    traderId: id('trader_id'),
    settings: text('settings').notNull(),
    /** active, paused or stopped */
    status: varchar('status', { length: 8 }).notNull(),
    updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.copierId, t.traderId] }), index('copy_follow_trader').on(t.traderId)],
);

/**
 * A follow's copies refused by the exchange in a row for one reason (its code), while the run
 * lasts: written with the batch that refused or filled (absolute values), gone after a fill or
 * once the follow was paused for it (TF_COPY_PAUSE_AFTER_REFUSALS). A restart reads it back.
 */
export const copyFollowRefusal = mysqlTable(
  'copy_follow_refusal',
  {
    copierId: id('copier_id'),
    traderId: id('trader_id'),
    code: varchar('code', { length: 64 }).notNull(),
    count: int('count').notNull(),
    /** when the last refusal was recorded: with the count, the key of the pause's notice */
    lastMs: bigint('last_ms', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.copierId, t.traderId] })],
);

/**
 * A signal, from its acceptance on: the ingress inserts it (`entry` set, `done_ms` null)
 * before it acknowledges it, so an ack survives a Redis that lost its data, and the unique
 * key is the durable dedup; the fan-out sets `done_ms` once every copier has its order or
 * skip (or once it is dead-lettered, see `outcome`). A close-out, a copier's liquidation, and a signal put in the stream past the ingress, get their row only
 * then (no `entry`). At start, accepted signals not yet done and not in the stream are
 * queued again in `seq` order (requeue.ts).
 */
export const copySignal = mysqlTable(
  'copy_signal',
  {
    signalKey: id('signal_key', 160),
    /**
     * the fan-out partition the row is of (domain/partition.ts): with TF_COPY_PARTITIONS = P
     * > 1 a signal is accepted as P rows, one per partition, each done on its own; 0 with P = 1
     */
    part: smallint('part', { unsigned: true }).notNull().default(0),
    traderId: id('trader_id'),
    payload: text('payload').notNull(),
    /** the stream entry's field `m` as accepted (codec.ts); null for rows the fan-out wrote */
    entry: text('entry'),
    /** acceptance order: a trader's signals are queued again in the order they were acked */
    seq: bigint('seq', { mode: 'number', unsigned: true }).autoincrement().notNull().unique(),
    receivedMs: bigint('received_ms', { mode: 'number' }).notNull(),
    doneMs: bigint('done_ms', { mode: 'number' }),
    orders: int('orders'),
    skips: int('skips'),
    /**
     * with done_ms: `fanned-out` (every copier has its order or skip) or `dead-lettered` (no
     * copier could be sized for it: kept in `copy:signals:dead`, and never queued again);
     * null on rows finished before the column existed
     */
    outcome: varchar('outcome', { length: 16 }),
  },
  (t) => [
    primaryKey({ columns: [t.signalKey, t.part] }),
    index('copy_signal_open').on(t.doneMs, t.seq),
    // a lead's signals (the leaderboard recomputes a lead from them)
    index('copy_signal_trader').on(t.traderId, t.seq),
  ],
);

/**
 * One exchange order per (signal, copier), its client order id derived from the two
 * (copy-order.ts); keyed by them, so a signal's orders are one range (recovery reads it).
 */
export const copyOrder = mysqlTable(
  'copy_order',
  {
    clientOrderId: id('client_order_id', 240),
    signalKey: id('signal_key', 160),
    copierId: id('copier_id'),
    traderId: id('trader_id', KEPT_ID_LENGTH),
    instrument: id('instrument', 32),
    action: varchar('action', { length: 8 }).notNull(),
    side: varchar('side', { length: 8 }).notNull(),
    qty: amount('qty').notNull(),
    /** FILLED or REJECTED; LIQUIDATED: a slice the copier's own liquidation closed (nothing was ordered) */
    status: varchar('status', { length: 12 }).notNull(),
    fillPrice: amount('fill_price'),
    fee: amount('fee'),
    errorCode: varchar('error_code', { length: 64 }),
    createdMs: bigint('created_ms', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.signalKey, t.copierId] }),
    index('copy_order_copier').on(t.copierId, t.createdMs),
  ],
);

/** A copier that did not follow a signal, and why: never a silent drop. */
export const copySkip = mysqlTable(
  'copy_skip',
  {
    signalKey: id('signal_key', 160),
    copierId: id('copier_id'),
    traderId: id('trader_id'),
    reason: varchar('reason', { length: 32 }).notNull(),
    detail: varchar('detail', { length: 255 }),
    createdMs: bigint('created_ms', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.signalKey, t.copierId] }), index('copy_skip_copier').on(t.copierId)],
);

/** The part of a copier's position that belongs to one trader. */
export const copySlice = mysqlTable(
  'copy_slice',
  {
    copierId: id('copier_id'),
    traderId: id('trader_id', KEPT_ID_LENGTH),
    instrument: id('instrument', 32),
    side: varchar('side', { length: 8 }).notNull(),
    qty: amount('qty').notNull(),
    avgEntryPrice: amount('avg_entry_price').notNull(),
    realisedPnl: amount('realised_pnl').notNull(),
    fees: amount('fees').notNull(),
    /** open fees of the quantity still held, realised pro rata as it closes */
    heldFees: amount('held_fees').notNull(),
    /** profit share accrued to the trader from this slice's closes */
    shareAccrued: amount('share_accrued').notNull(),
    updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.copierId, t.traderId, t.instrument, t.side] })],
);

/**
 * A follow's PnL (realised + unrealised at mark, stops.ts) when a UTC day began, or when the
 * stop watcher first saw the follow that day: the base of its daily loss limit. The first
 * row of a day stays (INSERT IGNORE), so a restart keeps the day's base.
 */
export const copyFollowDay = mysqlTable(
  'copy_follow_day',
  {
    copierId: id('copier_id'),
    traderId: id('trader_id'),
    /** YYYYMMDD, UTC */
    day: varchar('day', { length: 8 }).notNull(),
    basePnl: amount('base_pnl').notNull(),
    createdMs: bigint('created_ms', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.copierId, t.traderId, t.day] })],
);

/**
 * What drift repair could not repair, per copier (src/copytrade/drift/): a missed open
 * whose price had moved past the copier's bound (`drift_key` its repair key
 * `drift/{signalKey}`, never resolved: it was not placed), or a position the copier's
 * slices do not add up to (`position/{instrument}/{side}`, resolved once they agree
 * again). Listed by `tradeflow copy drift`; each report is told once to the copier.
 */
export const copyDrift = mysqlTable(
  'copy_drift',
  {
    copierId: id('copier_id'),
    driftKey: id('drift_key', 200),
    kind: varchar('kind', { length: 32 }).notNull(),
    traderId: binaryIdColumn('trader_id', { length: KEPT_ID_LENGTH }),
    instrument: id('instrument', 32),
    /** long, short, or net (one-way mode) */
    side: varchar('side', { length: 8 }).notNull(),
    /** Σ slices and the exchange's position (contracts) when last seen; null for a signal's report */
    sliceQty: amount('slice_qty'),
    exchangeQty: amount('exchange_qty'),
    detail: varchar('detail', { length: 255 }).notNull(),
    firstMs: bigint('first_ms', { mode: 'number' }).notNull(),
    lastMs: bigint('last_ms', { mode: 'number' }).notNull(),
    resolvedMs: bigint('resolved_ms', { mode: 'number' }),
  },
  (t) => [primaryKey({ columns: [t.copierId, t.driftKey] }), index('copy_drift_open').on(t.resolvedMs)],
);
