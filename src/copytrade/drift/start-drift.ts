import { createExchangeClient } from '../../clients/exchange.js';
import type { CopySettings } from '../../config.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { Turns } from '../../infra/turns.js';
import type { Market } from '../domain/sizing.js';
import type { CopierBook } from '../fanout/book.js';
import type { Fanout } from '../fanout/fanout.js';
import type { CopyMetrics } from '../metrics.js';
import { type NoticePusher, notify } from '../notices/notices.js';
import { type DriftLoop, startDriftLoop } from './drift-loop.js';
import { DriftMetrics } from './drift-metrics.js';
import { DriftRepair } from './drift-repair.js';
import { DriftStore } from './drift-store.js';
import { LeadDrift } from './lead-drift.js';

/**
 * Drift repair in the copy engine (copy-engine.ts, stage 6): the copiers' and the leads'
 * comparisons on a loop, repairs through the engine's fan-out in its turns, on an exchange
 * client of its own (two connections: its position reads never queue the fan-out's batches).
 * Returns the loop (kick after a reconnect) and its stop; null when TF_COPY_DRIFT_INTERVAL_MS is 0.
 */
export function startDrift(deps: {
  config: CopySettings;
  book: CopierBook;
  fanout: Fanout;
  turns: Turns;
  /** the fan-out's pool (reads, reports) and the API's (notices) */
  pool: Pool;
  apiPool: Pool;
  market: (instrument: string) => Market;
  pushNotice: NoticePusher;
  holdsRole: () => boolean;
  metrics?: CopyMetrics;
  /** the fan-out partition the book is of (TF_COPY_PARTITIONS; 0 with one) */
  part?: number;
  log: Logger;
}): (DriftLoop & { close(): Promise<void> }) | null {
  const { config, book, fanout, turns, log } = deps;
  if (config.copyDriftIntervalMs === 0) return null;
  const exchange = createExchangeClient(config.exchangeUrl, {
    timeoutMs: config.httpTimeoutMs,
    connections: 2,
  });
  const store = new DriftStore(deps.pool, deps.part ?? 0);
  const observer = deps.metrics ? new DriftMetrics(deps.metrics.registry) : undefined;
  const common = {
    book,
    fanout,
    exchange,
    store,
    turns,
    lookbackMs: config.copyDriftLookbackMs,
    observer,
    log,
  };
  const loop = startDriftLoop(
    new DriftRepair({
      ...common,
      market: deps.market,
      notify: (userId, dedupKey, payload) =>
        notify(deps.apiPool, { userId, kind: 'drift', dedupKey, payload }, deps.pushNotice),
    }),
    {
      copierIds: () => book.copierIds(),
      store,
      leads: new LeadDrift(common),
      intervalMs: config.copyDriftIntervalMs,
      batchSize: config.copyDriftBatch,
      holdsRole: deps.holdsRole,
      unrepaired: (n) => observer?.unrepaired(n),
    },
    log,
  );
  return {
    kick: () => loop.kick(),
    stop: () => loop.stop(),
    async close() {
      await loop.stop();
      await exchange.close();
    },
  };
}
