import type { CopySettings } from '../config.js';
import { type CopyEngine, startCopyEngine } from '../copytrade/copy-engine.js';
import {
  allPartitions,
  partitionFence,
  partitionRole,
  partitionsPerProcess,
} from '../copytrade/domain/partition.js';
import { PartitionStreams } from '../copytrade/ingress/partition-streams.js';
import type { CopyMetrics } from '../copytrade/metrics.js';
import type { Logger } from '../infra/log.js';
import type { Pool } from '../infra/mysql/client.js';
import { type RedisClient, scanKeys } from '../infra/redis.js';
import { Coordinator } from '../roles/coordinator.js';
import { Fence } from '../roles/fence.js';

/** Set while a `tradeflow copy` process runs (refreshed every third of its TTL; gone within it once the process dies). */
export const copyPresenceKey = (prefix: string, consumer: string): string =>
  `${prefix}:copy:process:${consumer}`;

/** Consumer names of the live `tradeflow copy` processes (their presence keys). */
export async function liveCopyProcesses(redis: RedisClient, prefix: string): Promise<string[]> {
  const head = copyPresenceKey(prefix, '');
  return (await scanKeys(redis, `${head}*`)).map((k) => k.slice(head.length));
}

/**
 * The fan-out partitions this process holds (TF_COPY_PARTITIONS = P > 1): one role lock per
 * partition (`{<prefix>-p<p>}:copy:fanout:p<p>`, its own fence), tried every third of the
 * TTL, at most ceil(P / live copy processes) held at once; the live processes are counted by
 * presence keys whose TTL is the lock's, so when a process dies its partitions are free and
 * the survivors may hold them within about one TTL. Holding more than its share (a process
 * joined), it gives the highest-numbered one up, engine first, then the lock. Each held
 * partition runs an engine of its own (copy-engine.ts, scope `{ part }`): its book of that
 * partition's copiers, its fan-out, liquidations and stops.
 */
export class CopyPartitions {
  private readonly roles = new Map<number, Coordinator>();
  private readonly engines = new Map<number, Promise<CopyEngine | null>>();
  private readonly restarting = new Set<number>();
  /** the partitions' attempts to take their locks, one at a time (so two cannot both take the last place) */
  private turn: Promise<unknown> = Promise.resolve();
  private limit = 1;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private withdraw: (() => Promise<void>) | undefined;

  constructor(
    private readonly deps: {
      config: CopySettings;
      ttlMs: number;
      redis: RedisClient;
      pool: Pool;
      consumer: string;
      log: Logger;
      metrics?: CopyMetrics;
    },
  ) {}

  /** The partitions this process holds now. */
  held(): number[] {
    return [...this.roles].filter(([, r]) => r.holding !== null).map(([p]) => p);
  }

  async start(): Promise<void> {
    const { redis, config, consumer, ttlMs } = this.deps;
    const key = copyPresenceKey(config.redisPrefix, consumer);
    const beat = () => redis.set(key, String(Date.now()), 'PX', ttlMs);
    await beat();
    this.withdraw = async () => {
      await redis.del(key).catch(() => undefined);
    };
    await this.count();
    const every = Math.max(50, Math.floor(ttlMs / 3));
    this.timer = setInterval(() => {
      void beat()
        .then(() => this.count())
        .then(() => this.balance())
        .catch((err) => this.deps.log.warn({ err }, 'copy partitions: presence or balance failed'));
    }, every);
    for (const part of allPartitions(config.copyPartitions)) this.role(part).start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.roles.values()].map((r) => r.stop()));
    await Promise.allSettled([...this.engines.values()].map((e) => e.then((x) => x?.stop())));
    await this.withdraw?.();
  }

  private async count(): Promise<void> {
    const live = (await liveCopyProcesses(this.deps.redis, this.deps.config.redisPrefix)).length;
    this.limit = partitionsPerProcess(this.deps.config.copyPartitions, live);
  }

  /** More than its share: the highest-numbered held partition goes back, for a process that has fewer. */
  private async balance(): Promise<void> {
    const held = this.held();
    if (held.length <= this.limit || this.stopped) return;
    const part = Math.max(...held);
    this.deps.log.info(
      { part, held, limit: this.limit },
      'copy partition given up for a process that joined',
    );
    await this.restart(part);
  }

  /** The partition's role given up (engine stopped, lock released) and tried again from scratch. */
  private async restart(part: number): Promise<void> {
    if (this.restarting.has(part)) return;
    this.restarting.add(part);
    try {
      await this.roles.get(part)?.stop();
      if (!this.stopped) this.role(part).start();
    } finally {
      this.restarting.delete(part);
    }
  }

  private role(part: number): Coordinator {
    const { config, redis, pool, consumer, log, ttlMs, metrics } = this.deps;
    const partitions = new PartitionStreams(config.redisPrefix, config.copyPartitions);
    const role: Coordinator = new Coordinator(
      redis,
      new Fence(pool, partitionFence(part)),
      {
        prefix: partitions.prefixOf(part),
        role: partitionRole(part),
        ttlMs,
        holder: consumer,
        mayAcquire: () => !this.stopped && this.held().length < this.limit,
        inTurn: (attempt) => {
          const next = this.turn.then(attempt);
          this.turn = next.catch(() => undefined);
          return next;
        },
      },
      {
        acquired: () => {
          // a write turned down for want of time on the lock ends this term of the partition
          // (only this term's: a late call from a stopped engine must not end its successor's)
          const holds = () => {
            if (role.holds()) return true;
            if (this.roles.get(part) === role) void this.restart(part);
            return false;
          };
          const before = this.engines.get(part) ?? Promise.resolve(null);
          const engine = before
            .then((e) => e?.stop())
            .then(() => startCopyEngine(config, log, consumer, holds, metrics, { shared: false, part }))
            .catch((err: unknown) => {
              log.error({ err, part }, 'copy partition did not start');
              if (this.roles.get(part) === role) void this.restart(part);
              return null;
            });
          this.engines.set(part, engine);
        },
        yield: async () => {
          const engine = this.engines.get(part);
          this.engines.delete(part);
          await engine?.then((e) => e?.stop());
        },
      },
      log,
    );
    this.roles.set(part, role);
    return role;
  }
}
