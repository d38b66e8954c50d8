/**
 * npx tsx scripts/retry-manual.ts [--code CODE] [--since ISO|ms] [--until ISO|ms] [--limit N] [--apply]
 *
 * Retries MANUAL orders in bulk, chosen by error code and by when they were parked. A dry
 * run (the default) lists what it would retry and changes nothing; --apply redrives each
 * from its failed step, exactly as `tradeflow retry` does. Running it twice is harmless: an
 * order retried once is no longer MANUAL.
 */
import { parseArgs } from 'node:util';
import type { RowDataPacket } from 'mysql2/promise';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/infra/mysql/client.js';
import { createRedis } from '../src/infra/redis.js';
import { retryManual } from '../src/settlement/ops/order-store.js';

const { values } = parseArgs({
  options: {
    code: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string', default: '1000' },
    apply: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npx tsx scripts/retry-manual.ts [--code CODE] [--since T] [--until T] [--limit N] [--apply]\n' +
      '  T: an ISO time or ms since the epoch; without --apply nothing is changed\n',
  );
  process.exit(0);
}
const time = (v: string | undefined, fallback: number) => {
  if (v === undefined) return fallback;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${v}`);
  return ms;
};
const config = loadConfig();
const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
const redis = createRedis(config.redisUrl);
try {
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT order_id, step, error_code FROM settlement_order WHERE status='MANUAL' AND (? IS NULL OR error_code=?) AND updated_ms BETWEEN ? AND ? ORDER BY updated_ms LIMIT ?",
    [
      values.code ?? null,
      values.code ?? null,
      time(values.since, 0),
      time(values.until, Date.now()),
      Number(values.limit),
    ],
  );
  let retried = 0;
  for (const r of rows) {
    if (!values.apply) {
      process.stdout.write(`would retry ${r.order_id} from step ${r.step} (${r.error_code})\n`);
      continue;
    }
    const result = await retryManual(pool, redis, config.redisPrefix, r.order_id);
    if (result.retried) retried++;
    process.stdout.write(
      result.retried
        ? `retried ${r.order_id} from step ${result.step}, attempt ${result.attempt}\n`
        : `skipped ${r.order_id}: ${result.reason}\n`,
    );
  }
  process.stdout.write(
    values.apply
      ? `${retried} of ${rows.length} retried\n`
      : `${rows.length} would be retried (dry run; --apply to act)\n`,
  );
} finally {
  await pool.end();
  redis.disconnect();
}
