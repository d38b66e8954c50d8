import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createCounterListing } from '../clients/counter-listing.js';
import { createDownstream } from '../clients/downstream.js';
import type { SettlementSettings } from '../config.js';
import type { Logger } from '../infra/log.js';
import { createPool } from '../infra/mysql/client.js';
import { createRedis } from '../infra/redis.js';
import { startCoordinatorRole } from './coordinator/start-coordinator.js';
import { startIntake, takingIn } from './intake/start-intake.js';
import { SettlementMetrics } from './ops/metrics.js';
import { ParkedQueue } from './ops/parked-queue.js';
import { startOps } from './ops/start-ops.js';
import { announcePresence } from './steps/presence.js';
import { startSteps } from './steps/start-steps.js';

// the baseline of the settlement bench (scripts/bench) runs steps on the same executor

export interface SettlementEngine {
  /** Stops intake, drains in-flight steps for at most `deadlineMs`, closes connections. */
  stop(deadlineMs: number): Promise<void>;
}

/**
 * The settlement engine, wired in the order an order travels:
 *   counter table ─(1 intake)─▶ settlement_order + stream settle:1 ─(2 step workers)─▶ … settle:4 ─▶ DONE
 * with (3) retries waiting in BullMQ and (4) the coordinator, one process at a time, polling,
 * reconciling, redriving from MySQL what went quiet, trimming, and listing parked orders.
 *
 * Here only the wiring: the connections, what the stages share, and the stages started in
 * this order and stopped in the reverse one: steps (2, 3), the coordinator role (4), intake
 * (1), ops. So a stop takes nothing more in, then hands the role over (its work stopped, then
 * the lock) so another process takes it up while this one drains its steps.
 */
export async function startSettlementEngine(
  config: SettlementSettings,
  log: Logger,
): Promise<SettlementEngine> {
  const prefix = config.redisPrefix;
  const consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const redis = createRedis(config.redisUrl, { name: `tf-${consumer}` });
  const enginePool = createPool(config.mysqlUrl, config.engineDb, { connections: 8 });
  const writerPool = createPool(config.mysqlUrl, config.engineDb, {
    connections: 8,
    multipleStatements: true,
  });
  const counterPool = createPool(config.counterMysqlUrl, config.counterDb, { connections: 2 });
  const downstream = createDownstream({
    counterUrl: config.counterUrl,
    fundingUrl: config.fundingUrl,
    tradeUrl: config.tradeUrl,
    timeoutMs: config.httpTimeoutMs,
    connections: config.httpConnections,
  });
  const listing = createCounterListing(config.counterUrl, { timeoutMs: config.httpTimeoutMs });

  const metrics = new SettlementMetrics(redis, enginePool, prefix);
  // shared: the steps run its worker (board retries), the coordinator's duty lists parked orders on it
  const parked = new ParkedQueue(config.redisUrl, prefix, enginePool, redis, log);
  // shared: Kafka intake, and the coordinator's poller and reconciler, take counter rows in through it
  const taking = takingIn(config, { enginePool, redis, metrics, log });

  const stopSteps = await startSteps(config, {
    redis,
    writerPool,
    downstream,
    metrics,
    parked,
    consumer,
    log,
  });
  const stopRole = startCoordinatorRole(config, {
    redis,
    enginePool,
    counterPool,
    listing,
    taking,
    parked,
    metrics,
    consumer,
    log,
  });
  const intake = startIntake(config, { taking, redis, metrics, consumer, log });
  // 5. Presence, once all the workers run (tests and operators wait on it). Not a stage stopped
  // in reverse: it is withdrawn only after the steps drained, as the janitor removes the
  // consumers of an engine without presence from the groups
  const withdrawPresence = await announcePresence(redis, prefix, consumer);
  const stopOps = await startOps(config, { metrics, redis, enginePool, notes: intake.notes });
  log.info(
    { consumer, concurrency: config.stepConcurrency, ops: config.opsPort === 0 ? undefined : config.opsPort },
    'settlement engine started',
  );

  return {
    async stop(deadlineMs) {
      await stopOps();
      await intake.stop();
      // the role goes first (its work stopped, then the lock), so another process takes it
      // up while this one drains
      await stopRole(deadlineMs);
      await stopSteps(deadlineMs);
      // the last watermark raise, which the poll loop did not wait for
      await taking.watermarks.flush();
      await withdrawPresence();
      await Promise.allSettled([
        enginePool.end(),
        writerPool.end(),
        counterPool.end(),
        downstream.close(),
        listing.close(),
      ]);
      redis.disconnect();
      log.info({ consumer }, 'settlement engine stopped');
    },
  };
}
