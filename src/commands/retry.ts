import type { Run } from '../cli.js';
import { createPool } from '../infra/mysql/client.js';
import { createRedis } from '../infra/redis.js';
import { retryManual } from '../settlement/ops/order-store.js';

export const run: Run = async (args, { config }) => {
  const orderId = args[0];
  if (!orderId) throw new Error('usage: tradeflow retry <orderId>');
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
  const redis = createRedis(config.redisUrl);
  try {
    const result = await retryManual(pool, redis, config.redisPrefix, orderId);
    process.stdout.write(`${JSON.stringify({ orderId, ...result })}\n`);
    return result.retried ? 0 : 1;
  } finally {
    await pool.end();
    redis.disconnect();
  }
};
