import type { Config } from '../config.js';
import { ProfitShareQueue } from '../copytrade/profit-share/queue.js';
import type { Logger } from '../infra/log.js';
import { createPool } from '../infra/mysql/client.js';
import { every } from '../infra/periodic.js';
import { createRedis } from '../infra/redis.js';
import { ParkedQueue } from '../settlement/ops/parked-queue.js';
import { RetryQueue } from '../settlement/steps/retry-queue.js';
import { boardAuthFor } from './auth.js';
import { startBoardServer } from './server.js';

const SYNC_INTERVAL_MS = 2000;

export interface Board {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Bull Board for the retry, parked and profit-share queues, and what keeps the parked queue in line with
 * MySQL while it is open (sync is idempotent, so the coordinator may run it as well).
 * `worker`: also carry out retries asked for on the board, for a board process that runs
 * without an engine beside it. Throws a ConfigError (before connecting to anything) when
 * TF_BOARD_AUTH is malformed, or missing for a host that is not loopback.
 */
export async function startBoard(config: Config, log: Logger, opts: { worker: boolean }): Promise<Board> {
  const auth = boardAuthFor(config.boardHost, config.boardAuth);
  const prefix = config.redisPrefix;
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 2 });
  const redis = createRedis(config.redisUrl, { name: `tf-board-${process.pid}` });
  const parked = new ParkedQueue(config.redisUrl, prefix, pool, redis, log);
  const retries = new RetryQueue(config.redisUrl, prefix, log);
  // shown only: its worker runs in the copy engine
  const profitShare = new ProfitShareQueue(config.redisUrl, prefix, log);
  if (opts.worker) parked.startWorker();

  const sync = async () => {
    const n = await parked.sync();
    if (n.added + n.removed > 0) log.info(n, 'parked queue synced with MySQL');
  };
  await sync().catch((err) => log.error({ err }, 'parked queue sync failed'));
  const syncing = every(SYNC_INTERVAL_MS, sync, (err) => log.error({ err }, 'parked queue sync failed'));

  const server = await startBoardServer({
    host: config.boardHost,
    port: config.boardPort,
    auth,
    retryQueue: retries.queue,
    parkedQueue: parked.queue,
    profitShareQueue: profitShare.queue,
  }).catch(async (err) => {
    await syncing.stop();
    await Promise.allSettled([parked.close(), retries.close(), profitShare.close(), pool.end()]);
    redis.disconnect();
    throw err;
  });
  log.info({ url: server.url, auth: auth.kind }, 'Bull Board started');

  return {
    url: server.url,
    async close() {
      await server.close();
      await syncing.stop();
      await Promise.allSettled([parked.close(), retries.close(), profitShare.close()]);
      await pool.end();
      redis.disconnect();
    },
  };
}
