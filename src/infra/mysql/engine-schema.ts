import {
  bigint,
  decimal,
  index,
  int,
  mysqlTable,
  primaryKey,
  smallint,
  text,
  tinyint,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/mysql-core';
import { orderIdColumn } from './columns.js';

/** One row per counter order taken in; the unique order id absorbs duplicate intake. */
export const settlementOrder = mysqlTable(
  'settlement_order',
  {
    orderId: orderIdColumn('order_id').primaryKey(),
    flow: varchar('flow', { length: 8 }).notNull(),
    asset: varchar('asset', { length: 8 }).notNull(),
    userId: varchar('user_id', { length: 64 }).notNull(),
    qty: decimal('qty', { precision: 36, scale: 18 }).notNull(),
    usdt: decimal('usdt', { precision: 36, scale: 18 }).notNull(),
    shard: smallint('shard').notNull(),
    /** RUNNING, DONE or MANUAL */
    status: varchar('status', { length: 12 }).notNull(),
    /** the step being worked on (1..4); for DONE the last step */
    step: tinyint('step').notNull(),
    /** attempt of that step, from 1 */
    attempt: int('attempt').notNull(),
    /** what the previous step produced that the next one spends (e.g. BTC bought) */
    carry: decimal('carry', { precision: 36, scale: 18 }),
    errorCode: varchar('error_code', { length: 64 }),
    errorMessage: varchar('error_message', { length: 512 }),
    source: varchar('source', { length: 16 }).notNull(),
    counterCreatedMs: bigint('counter_created_ms', { mode: 'number' }).notNull(),
    intakeMs: bigint('intake_ms', { mode: 'number' }).notNull(),
    updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
    doneMs: bigint('done_ms', { mode: 'number' }),
    /**
     * written by engines before the step log's INSERT used ROW_COUNT(); no longer written, kept
     * so that a rolling deploy's older processes still write: drop it once none is left
     */
    gate: varchar('gate', { length: 48 }),
  },
  (t) => [index('settlement_order_status_updated').on(t.status, t.updatedMs)],
);

/** The step log: one row per attempt of a step of an order. */
export const settlementStep = mysqlTable(
  'settlement_step',
  {
    orderId: orderIdColumn('order_id').notNull(),
    step: tinyint('step').notNull(),
    attempt: int('attempt').notNull(),
    /** OK, RETRY or FAILED */
    status: varchar('status', { length: 12 }).notNull(),
    errorCode: varchar('error_code', { length: 64 }),
    errorMessage: varchar('error_message', { length: 512 }),
    result: decimal('result', { precision: 36, scale: 18 }),
    startedMs: bigint('started_ms', { mode: 'number' }).notNull(),
    finishedMs: bigint('finished_ms', { mode: 'number' }).notNull(),
    latencyMs: int('latency_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.step, t.attempt] })],
);

/** Intake input that could not become an order, kept with its reason. */
export const intakeRejection = mysqlTable(
  'intake_rejection',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    source: varchar('source', { length: 16 }).notNull(),
    /** where it came from: the counter row id, a Kafka topic/partition/offset, ... */
    sourceRef: varchar('source_ref', { length: 128 }).notNull(),
    orderId: orderIdColumn('order_id'),
    reason: varchar('reason', { length: 512 }).notNull(),
    raw: text('raw').notNull(),
    createdMs: bigint('created_ms', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('intake_rejection_ref').on(t.source, t.sourceRef)],
);

/** How far each intake source has read (the poller: the counter's last row id). */
export const intakeCursor = mysqlTable('intake_cursor', {
  source: varchar('source', { length: 32 }).primaryKey(),
  position: bigint('position', { mode: 'number' }).notNull(),
  updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
});

/**
 * The latest fencing token of each coordinator role. A coordinator write carrying an older
 * token than this is refused, so a holder that was paused past its lock's TTL cannot act.
 */
export const coordinatorFence = mysqlTable('coordinator_fence', {
  name: varchar('name', { length: 64 }).primaryKey(),
  token: bigint('token', { mode: 'number' }).notNull(),
  /** the engine process (consumer name) that raised it */
  holder: varchar('holder', { length: 128 }).notNull().default(''),
  updatedMs: bigint('updated_ms', { mode: 'number' }).notNull(),
});

/**
 * One row per coordinator duty run that wrote (OK, inside the fenced transaction) or was
 * refused by the fence (REFUSED, written after the rollback): the record that shows no two
 * holders ever acted at once.
 */
export const coordinatorRun = mysqlTable(
  'coordinator_run',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    duty: varchar('duty', { length: 32 }).notNull(),
    token: bigint('token', { mode: 'number' }).notNull(),
    holder: varchar('holder', { length: 128 }).notNull(),
    outcome: varchar('outcome', { length: 8 }).notNull(),
    /** what the run did: orders taken in, redriven, entries trimmed, ... */
    items: int('items').notNull(),
    startedMs: bigint('started_ms', { mode: 'number' }).notNull(),
    finishedMs: bigint('finished_ms', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('coordinator_run_duty').on(t.duty, t.startedMs),
    // the trim duty deletes by age
    index('coordinator_run_started').on(t.startedMs),
  ],
);
