import { parseArgs } from 'node:util';
import type { Run } from '../cli.js';
import { createPool } from '../infra/mysql/client.js';
import { type LoadFlow, makeCounterRows } from '../load/counter-orders.js';
import { writeCounterRows } from '../load/write-rows.js';
import { SWAP_BIZ_TYPE } from '../settlement/domain/order.js';

export const run: Run = async (args, { config }) => {
  const { values } = parseArgs({
    args,
    options: {
      orders: { type: 'string' },
      rate: { type: 'string' },
      flow: { type: 'string', default: 'mixed' },
      'other-biz': { type: 'string', default: '0.05' },
    },
  });
  const n = Number(values.orders);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  const flow = values.flow as LoadFlow;
  const otherBizRate = Number(values['other-biz']);
  if (!Number.isInteger(n) || n < 1) throw new Error('--orders N: a positive integer is required');
  if (rate !== undefined && !(rate > 0)) throw new Error('--rate R: orders per second, a positive number');
  if (!['open', 'close', 'mixed'].includes(flow)) throw new Error('--flow: open, close or mixed');
  if (!(otherBizRate >= 0 && otherBizRate < 1)) throw new Error('--other-biz: a fraction in [0, 1)');
  const pool = createPool(config.counterMysqlUrl, config.counterDb, { connections: 2 });
  try {
    const rows = makeCounterRows(n, { flow, shards: config.shards, otherBizRate });
    const started = Date.now();
    await writeCounterRows(pool, rows, rate);
    const swaps = rows.filter((r) => r.bizType === SWAP_BIZ_TYPE).length;
    process.stdout.write(
      `${JSON.stringify({ written: rows.length, swapOrders: swaps, otherRows: rows.length - swaps, ms: Date.now() - started, firstOrderId: rows[0]?.orderId })}\n`,
    );
  } finally {
    await pool.end();
  }
  return 0;
};
