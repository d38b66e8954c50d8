/**
 * npx tsx scripts/order-timeline.ts <orderId> [--json]
 *
 * One order's timeline from MySQL: its row, then every attempt of every step with its
 * status, error and latency. Read-only.
 */
import { parseArgs } from 'node:util';
import type { RowDataPacket } from 'mysql2/promise';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/infra/mysql/client.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
});
const orderId = positionals[0];
if (values.help || !orderId) {
  process.stdout.write(
    'usage: npx tsx scripts/order-timeline.ts <orderId> [--json]\n  prints the order and each attempt of each step (read-only)\n',
  );
  process.exit(values.help ? 0 : 2);
}
const config = loadConfig();
const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
try {
  const [orders] = await pool.query<RowDataPacket[]>('SELECT * FROM settlement_order WHERE order_id=?', [
    orderId,
  ]);
  const order = orders[0];
  if (!order) {
    process.stderr.write(`no order ${orderId}\n`);
    process.exitCode = 1;
  } else {
    const [steps] = await pool.query<RowDataPacket[]>(
      'SELECT step, attempt, status, error_code, error_message, result, started_ms, finished_ms, latency_ms FROM settlement_step WHERE order_id=? ORDER BY started_ms, step, attempt',
      [orderId],
    );
    if (values.json) process.stdout.write(`${JSON.stringify({ order, steps })}\n`);
    else {
      const t0 = Number(order.counter_created_ms);
      const at = (ms: unknown) => `+${String(Number(ms) - t0).padStart(6)} ms`;
      process.stdout.write(
        `${orderId}  ${order.flow} ${order.qty} ${order.asset}  ${order.status} at step ${order.step}\n`,
      );
      process.stdout.write(
        `${at(t0)}  written by the counter\n${at(order.intake_ms)}  taken in (${order.source})\n`,
      );
      for (const s of steps) {
        const error = s.error_code ? `  ${s.error_code}: ${s.error_message}` : '';
        process.stdout.write(
          `${at(s.started_ms)}  step ${s.step} attempt ${s.attempt}: ${s.status} in ${s.latency_ms} ms${error}\n`,
        );
      }
      if (order.done_ms) process.stdout.write(`${at(order.done_ms)}  DONE\n`);
    }
  }
} finally {
  await pool.end();
}
