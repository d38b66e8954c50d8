import { parseArgs } from 'node:util';
import type { Run } from '../cli.js';
import { createPool } from '../infra/mysql/client.js';
import type { OrderStatus } from '../settlement/domain/order.js';
import { countByStatus, listByStatus } from '../settlement/ops/order-store.js';

export const run: Run = async (args, { config }) => {
  const { values } = parseArgs({
    args,
    options: {
      summary: { type: 'boolean', default: false },
      status: { type: 'string' },
      json: { type: 'boolean', default: false },
      limit: { type: 'string', default: '100' },
    },
  });
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
  try {
    if (values.status) {
      const status = values.status.toUpperCase();
      if (!['RUNNING', 'DONE', 'MANUAL'].includes(status))
        throw new Error('--status: running, done or manual');
      const orders = await listByStatus(pool, status as OrderStatus, Number(values.limit));
      if (values.json) process.stdout.write(`${JSON.stringify(orders)}\n`);
      else {
        for (const o of orders) {
          process.stdout.write(
            `${o.orderId}\t${o.flow}\tstep ${o.step}\tattempt ${o.attempt}\t${o.errorCode ?? '-'}\t${o.errorMessage ?? ''}\n`,
          );
        }
        process.stdout.write(`${orders.length} ${status} order(s)\n`);
      }
      return 0;
    }
    const summary = await countByStatus(pool);
    process.stdout.write(
      values.json
        ? `${JSON.stringify(summary)}\n`
        : `${Object.entries(summary)
            .map(([k, v]) => `${k}\t${v}`)
            .join('\n')}\n`,
    );
    return 0;
  } finally {
    await pool.end();
  }
};
