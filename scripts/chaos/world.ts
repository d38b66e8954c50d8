/**
 * The world of one run on the campaign's own Redis and MariaDB: fresh databases, an empty
 * Redis, a new simulator (so its ledgers hold this run only), settings short enough that a
 * run with several outages settles in well under a minute, and a directory of logs kept
 * only when the run failed.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createSimAdmin, type SimAdmin } from '../../src/clients/sim-admin.js';
import { createPool, type Pool } from '../../src/infra/mysql/client.js';
import { freePort } from '../../test/support/harness.js';
import { freshDatabases, waitForSim } from '../bench/processes.js';
import { Fleet } from './fleet.js';
import type { OwnMariaDb, OwnRedis } from './services.js';

export const ENGINE_DB = 'tf_chaos_e';
export const COUNTER_DB = 'tf_chaos_c';
export const PREFIX = 'tfchaos';
export const TTL_MS = 1500;
export const HTTP_TIMEOUT_MS = 1000;

export interface World {
  fleet: Fleet;
  sim: SimAdmin;
  simUrl: string;
  engineDb: Pool;
  counterDb: Pool;
  env: Record<string, string>;
  logDir: string;
  close(keepLogs: boolean): Promise<void>;
}

export async function openWorld(
  services: { redis: OwnRedis; mysql: OwnMariaDb },
  command: 'start' | 'copy',
  logRoot: string,
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<World> {
  const logDir = join(logRoot, name);
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  await services.redis.ensureUp();
  await services.mysql.ensureUp();
  await services.redis.flushAll();
  await freshDatabases(services.mysql.url, ENGINE_DB, COUNTER_DB);
  const port = await freePort();
  const simUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    TF_MYSQL_URL: services.mysql.url,
    TF_REDIS_URL: services.redis.url,
    TF_REDIS_PREFIX: PREFIX,
    TF_ENGINE_DB: ENGINE_DB,
    TF_COUNTER_DB: COUNTER_DB,
    TF_SIM_PORT: String(port),
    TF_COUNTER_URL: simUrl,
    TF_FUNDING_URL: simUrl,
    TF_TRADE_URL: simUrl,
    TF_EXCHANGE_URL: simUrl,
    TF_LOG_LEVEL: 'warn',
    TF_OPS_PORT: '0',
    // two copy processes run at once: neither takes the default ops port
    TF_COPY_OPS_PORT: '0',
    TF_SHARDS: '4',
    TF_POLL_INTERVAL_MS: '20',
    TF_COORDINATOR_TTL_MS: String(TTL_MS),
    TF_HTTP_TIMEOUT_MS: String(HTTP_TIMEOUT_MS),
    TF_CLAIM_IDLE_MS: '3000',
    TF_CLAIM_INTERVAL_MS: '500',
    TF_RETRY_BASE_MS: '100',
    TF_RETRY_MAX_MS: '2000',
    TF_RECOVERY_IDLE_MS: '6000',
    TF_RECOVERY_INTERVAL_MS: '1000',
    TF_RECONCILE_INTERVAL_MS: '1000',
    // the whole run: the campaign tests the recovery, not how far back it looks
    TF_RECONCILE_WINDOW_MS: '300000',
    TF_DRAIN_TIMEOUT_MS: '3000',
    ...extraEnv,
  };
  const fleet = new Fleet(command, env, logDir);
  const sim = createSimAdmin(simUrl, { timeoutMs: 60_000 });
  const engineDb = createPool(services.mysql.url, ENGINE_DB, { connections: 4 });
  const counterDb = createPool(services.mysql.url, COUNTER_DB, { connections: 2 });
  const close = async (keepLogs: boolean) => {
    await fleet.close();
    await sim.close();
    await engineDb.end().catch(() => undefined);
    await counterDb.end().catch(() => undefined);
    if (!keepLogs) await rm(logDir, { recursive: true, force: true });
  };
  try {
    fleet.startSim();
    await waitForSim(sim);
  } catch (err) {
    await close(true);
    throw err;
  }
  return { fleet, sim, simUrl, engineDb, counterDb, env, logDir, close };
}

/** Runs `probe` until it gives a value or `ms` pass; errors (a server restarting) count as not yet. */
export async function poll<T>(
  probe: () => Promise<T | undefined>,
  ms: number,
  everyMs = 250,
): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
