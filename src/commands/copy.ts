import type { Run } from '../cli.js';
import { copySettings } from '../config.js';
import { type CopyEngine, copyConsumerName, startCopyEngine, WHOLE } from '../copytrade/copy-engine.js';
import { CopyMetrics } from '../copytrade/metrics.js';
import { scrape } from '../infra/metrics.js';
import { createPool } from '../infra/mysql/client.js';
import { dependenciesNotReady, startOpsServer } from '../infra/ops-server.js';
import { createRedis } from '../infra/redis.js';
import { Coordinator } from '../roles/coordinator.js';
import { Fence } from '../roles/fence.js';
import { CopyPartitions } from './copy-partitions.js';
import { untilSignal } from './signals.js';

/**
 * The copy engine, one process at a time: a second `tradeflow copy` (a rolling deploy, a
 * standby) waits for the fan-out role (the settlement coordinator's lock, `copy:fanout`) and
 * starts the engine (book, fan-out, ingress, API) only once it holds it. Two fan-outs would
 * split a trader's signals between two books and could copy a close before its open. A
 * process that loses the role stops its engine and exits with 1, to be restarted as a
 * standby; stopping, its fan-out writes nothing more (the successor asks the exchange what
 * was filled), and it checks the lock's time just before each write. The copy writes do not
 * carry the role's fencing token: a holder paused past the TTL (GC, SIGSTOP) writes nothing
 * once awake, but a write already sent when it paused still lands.
 *
 * With TF_COPY_PARTITIONS = P > 1 the role runs the shared parts only (ingress, API,
 * leaderboard, profit share), and every process also holds fan-out partitions, each under a
 * role of its own (copy-partitions.ts): at most ceil(P / live processes) each. A partition
 * lost stops its engine and is tried again; only the main role's loss ends the process.
 */
export const run: Run = async (args, ctx) => {
  // `tradeflow copy drift`: a listing, not the engine
  if (args[0] === 'drift') return (await import('./copy-drift.js')).run(args.slice(1), ctx);
  const { config, log } = ctx;
  const consumer = copyConsumerName();
  const redis = createRedis(config.redisUrl, { name: `tf-copy-role-${consumer}` });
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 2 });
  const metrics = new CopyMetrics(redis, config.redisPrefix, config.copyPartitions);
  let engine: Promise<CopyEngine | null> = Promise.resolve(null);
  let running = false;
  // once stopped, never started again: this process is on its way out
  let stopped: Promise<void> | undefined;
  const stopEngine = () => {
    stopped ??= engine.then((e) => e?.stop());
    return stopped;
  };
  let stopping = false;
  let lost: (why: string) => void = () => undefined;
  const roleLost = new Promise<string>((resolve) => {
    lost = resolve;
  });
  const role = new Coordinator(
    redis,
    new Fence(pool, 'copy-fanout'),
    { prefix: config.redisPrefix, role: 'copy:fanout', ttlMs: config.coordinatorTtlMs, holder: consumer },
    {
      acquired: (token) => {
        if (stopped) return;
        metrics.holding(token);
        // a write turned down for want of time on the lock ends this process's term
        const holds = () => {
          if (role.holds()) return true;
          lost('the lock ran short before a write');
          return false;
        };
        const scope = config.copyPartitions === 1 ? WHOLE : { shared: true, part: null };
        engine = startCopyEngine(copySettings(config), log, consumer, holds, metrics, scope).then(
          (e) => {
            running = true;
            return e;
          },
          (err: unknown) => {
            log.error({ err }, 'copy engine did not start');
            lost('the engine did not start');
            return null;
          },
        );
      },
      yield: async () => {
        // said first: the run below then stops the role's ticking, so it cannot take the lock back meanwhile
        if (!stopping) lost('the fan-out role was lost');
        running = false;
        metrics.holding(null);
        await stopEngine();
      },
    },
    log,
  );
  const partitions =
    config.copyPartitions === 1
      ? null
      : new CopyPartitions({
          config: copySettings(config),
          ttlMs: config.coordinatorTtlMs,
          redis,
          pool,
          consumer,
          log,
          metrics,
        });
  // a standby answers too: healthy, but not ready (it serves no socket and copies nothing)
  const ops =
    config.copyOpsPort === 0
      ? null
      : await startOpsServer(config.opsHost, config.copyOpsPort, {
          metrics: () => scrape(metrics.registry),
          notReady: async () =>
            (await dependenciesNotReady(redis, pool)) ??
            (running || (partitions?.held().length ?? 0) > 0
              ? null
              : 'standby: waiting for the fan-out role'),
        });
  role.start();
  await partitions?.start();
  log.info({ consumer, ops: ops?.port }, 'copy engine: waiting for the fan-out role');
  const why = await Promise.race([untilSignal().then((s) => `signal ${s}`), roleLost]);
  stopping = why.startsWith('signal');
  log.info({ why }, 'copy engine stopping');
  await Promise.all([role.stop(), partitions?.stop()]);
  await stopEngine();
  ops?.close();
  redis.disconnect();
  await pool.end();
  return stopping ? 0 : 1;
};
