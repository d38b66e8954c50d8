import type { ExchangeClient } from '../../clients/exchange.js';
import type { CopySettings } from '../../config.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { type PairRef, ProfitShare, type ProfitShareEvents } from './profit-share.js';
import { ProfitShareQueue } from './queue.js';

export interface RunningProfitShare {
  readonly service: ProfitShare;
  /** a follow was stopped: queues the settlement of its pair */
  stopped(pair: PairRef): Promise<void>;
  close(): Promise<void>;
}

/**
 * The profit-share cycle as the copy engine runs it: the schedulers registered (the cycle's
 * cron from TF_PROFIT_SHARE_CYCLE, the sweep every TF_PROFIT_SHARE_SWEEP_MS) and the worker
 * started. `events` is where notices are hung (profit-share.ts ProfitShareEvents).
 */
export async function startProfitShare(
  config: CopySettings,
  pool: Pool,
  exchange: Pick<ExchangeClient, 'transfer'>,
  log: Logger,
  events?: ProfitShareEvents,
): Promise<RunningProfitShare> {
  const service = new ProfitShare({ pool, exchange, cycle: config.profitShareCycle, log, events });
  const queue = new ProfitShareQueue(config.redisUrl, config.redisPrefix, log);
  try {
    await queue.schedule(config.profitShareCycle, config.profitShareSweepMs);
  } catch (err) {
    await queue.close();
    throw err;
  }
  queue.startWorker(service);
  return { service, stopped: (pair) => queue.stopped(pair), close: () => queue.close() };
}
