import type { ExchangeClient } from '../../clients/exchange.js';
import type { CopySettings } from '../../config.js';
import type { Logger } from '../../infra/log.js';
import { createPool } from '../../infra/mysql/client.js';
import { every } from '../../infra/periodic.js';
import type { RedisClient } from '../../infra/redis.js';
import type { FanoutObserver } from '../metrics.js';
import { BoardStore } from './board-store.js';
import { BoardUpdater, withBoardUpdates } from './board-updater.js';
import { EquitySnapshotter } from './snapshots.js';

/**
 * The leaderboard's part of the copy engine: a MySQL pool of its own (its queries never
 * queue on the fan-out's), the snapshot rounds, and the updater the fan-out's observer feeds.
 */
export function startLeaderboard(
  config: CopySettings,
  redis: RedisClient,
  exchange: ExchangeClient,
  log: Logger,
) {
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 2 });
  const board = new BoardStore(redis, config.redisPrefix);
  const updater = new BoardUpdater(pool, board, log);
  const snapshotter = new EquitySnapshotter(pool, exchange, log);
  const rounds =
    config.equitySnapshotMs > 0
      ? every(
          config.equitySnapshotMs,
          async () => {
            const round = await snapshotter.take(Date.now());
            log.debug(round, 'equity snapshot round');
            updater.touchAll();
          },
          (err) => log.warn({ err }, 'equity snapshot round failed; the next one covers it'),
        )
      : null;
  return {
    board,
    observe: (inner: FanoutObserver | undefined): FanoutObserver =>
      withBoardUpdates(inner, (traderId) => updater.touch(traderId)),
    async stop() {
      await rounds?.stop();
      await updater.idle();
      await pool.end();
    },
  };
}
