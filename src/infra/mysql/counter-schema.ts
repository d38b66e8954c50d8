import { bigint, decimal, index, mysqlTable, smallint, varchar } from 'drizzle-orm/mysql-core';
import { orderIdColumn } from './columns.js';

/**
 * The counter service's sync-order table, as the counter writes it. tradeflow reads it
 * (poller, reconciler listing, or its binlog through Canal) and never writes it, except
 * for `tradeflow load`, which plays the counter.
 *
 * Columns are nullable where a real counter's may be, so that malformed rows can exist and
 * intake must cope with them. Only rows with biz_type OPTION_SWAP concern tradeflow.
 */
export const syncOrder = mysqlTable(
  'sync_order',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    orderId: orderIdColumn('order_id').notNull().unique(),
    shard: smallint('shard').notNull(),
    userId: varchar('user_id', { length: 64 }),
    bizType: varchar('biz_type', { length: 32 }).notNull(),
    /** OPEN or CLOSE */
    flow: varchar('flow', { length: 16 }),
    /** BTC or ETH */
    asset: varchar('asset', { length: 16 }),
    /** underlying quantity the option covers, in the asset */
    qty: decimal('qty', { precision: 36, scale: 18 }),
    /** USDT the user paid (OPEN); null or 0 for CLOSE */
    usdt: decimal('usdt', { precision: 36, scale: 18 }),
    createdMs: bigint('created_ms', { mode: 'number' }).notNull(),
  },
  (t) => [index('sync_order_shard_created').on(t.shard, t.createdMs)],
);
