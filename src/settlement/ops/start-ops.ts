import type { SettlementSettings } from '../../config.js';
import { scrape } from '../../infra/metrics.js';
import type { Pool } from '../../infra/mysql/client.js';
import { dependenciesNotReady, startOpsServer } from '../../infra/ops-server.js';
import type { RedisClient } from '../../infra/redis.js';
import type { SettlementMetrics } from './metrics.js';

/**
 * Operator endpoints: /metrics, /healthz, /readyz on TF_OPS_HOST:TF_OPS_PORT (none when the
 * port is 0). Resolves once listening, with the stop.
 */
export async function startOps(
  config: SettlementSettings,
  deps: { metrics: SettlementMetrics; redis: RedisClient; enginePool: Pool; notes: () => string[] },
): Promise<() => Promise<void>> {
  const ops =
    config.opsPort === 0
      ? null
      : await startOpsServer(config.opsHost, config.opsPort, {
          metrics: () => scrape(deps.metrics.registry),
          notReady: () => dependenciesNotReady(deps.redis, deps.enginePool),
          notes: deps.notes,
        });
  return async () => {
    ops?.close();
  };
}
