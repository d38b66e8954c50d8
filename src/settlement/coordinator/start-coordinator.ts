import type { CounterListing } from '../../clients/counter-listing.js';
import type { SettlementSettings } from '../../config.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import { Coordinator } from '../../roles/coordinator.js';
import { Fence } from '../../roles/fence.js';
import { IntakePoller, pollerOptions } from '../intake/intake-poller.js';
import { Reconciler } from '../intake/reconciler.js';
import type { TakingIn } from '../intake/start-intake.js';
import type { SettlementMetrics } from '../ops/metrics.js';
import type { ParkedQueue } from '../ops/parked-queue.js';
import { presenceKey } from '../steps/presence.js';
import { ConsumerJanitor } from './consumer-janitor.js';
import { DutyRunner } from './duties.js';
import { parkedSync } from './parked-sync.js';
import { RecoveryScan } from './recovery.js';
import { StreamTrim } from './stream-trim.js';

const PARKED_SYNC_MS = 2000;
const FENCE_HOLD_MIN_MS = 5000;

export interface CoordinatorRoleDeps {
  redis: RedisClient;
  enginePool: Pool;
  counterPool: Pool;
  listing: CounterListing;
  taking: TakingIn;
  parked: ParkedQueue;
  metrics: SettlementMetrics;
  consumer: string;
  log: Logger;
}

/**
 * Stage 4, the coordinator role, held by one process at a time: the poller and the duties below
 * (reconciler, recovery scan, consumer sweep, stream trimming, parked jobs), writes fenced.
 * Returns the stop: the role's work stopped (waited for at most `deadlineMs`), then the lock.
 */
export function startCoordinatorRole(
  config: SettlementSettings,
  deps: CoordinatorRoleDeps,
): (deadlineMs: number) => Promise<void> {
  const { redis, enginePool, taking, parked, metrics, consumer, log } = deps;
  const prefix = config.redisPrefix;
  const reconciler = new Reconciler(
    deps.listing,
    enginePool,
    taking.intake,
    taking.watermarks,
    {
      shards: config.shards,
      intervalMs: config.reconcileIntervalMs,
      windowMs: config.reconcileWindowMs,
      graceMs: config.reconcileGraceMs,
      lagMs: config.reconcileLagMs,
    },
    log,
    (lateMs) => metrics.foundLate(lateMs),
    (look, rows) => metrics.reconcilerListed(look, rows),
  );
  // unfinished orders idle too long are redriven from MySQL
  const recovery = new RecoveryScan(
    enginePool,
    redis,
    { prefix, idleMs: config.recoveryIdleMs, intervalMs: config.recoveryIntervalMs },
    log,
  );
  // consumers that gone processes left in the groups are removed (presence: steps/presence.ts)
  const janitor = new ConsumerJanitor(
    redis,
    {
      prefix,
      idleMs: config.claimIdleMs,
      intervalMs: config.recoveryIntervalMs,
      isPresent: async (name) => (await redis.exists(presenceKey(prefix, name))) === 1,
    },
    log,
  );
  // a paused holder's session goes after this long; the duties do their Redis work outside
  // the fenced transaction, which holds the fence row for MySQL round trips only
  const fence = new Fence(enginePool, 'settlement', Math.max(config.coordinatorTtlMs, FENCE_HOLD_MIN_MS));
  const duties = new DutyRunner(
    enginePool,
    fence,
    consumer,
    [
      reconciler,
      recovery,
      janitor,
      new StreamTrim(redis, prefix, config.trimIntervalMs),
      parkedSync(parked, PARKED_SYNC_MS),
    ],
    (token) => coordinator.fenced(token),
    log,
  );
  let poller: IntakePoller | null = null;
  const coordinator = new Coordinator(
    redis,
    fence,
    { prefix, role: 'coordinator', ttlMs: config.coordinatorTtlMs, holder: consumer },
    {
      acquired: (token) => {
        metrics.holding(token);
        if (config.source === 'poll' || config.source === 'both') {
          poller = new IntakePoller(
            deps.counterPool,
            enginePool,
            taking.intake,
            pollerOptions(config),
            log,
            fence.writer(token, (t) => coordinator.fenced(t)),
          );
          poller.start();
        }
        duties.start(token);
      },
      yield: () => {
        metrics.holding(null);
        const stopping = Promise.all([poller?.stop(), duties.yield()]);
        poller = null;
        return stopping;
      },
    },
    log,
  );
  coordinator.start();
  return (deadlineMs) => coordinator.stop(deadlineMs);
}
