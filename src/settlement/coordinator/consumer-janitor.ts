import type { Logger } from '../../infra/log.js';
import { fieldMap, type RedisClient } from '../../infra/redis.js';
import { STEPS } from '../domain/flows.js';
import { GROUP, streamKey } from '../domain/streams.js';
import type { Duty, DutyWrite } from './duties.js';

/**
 * Removes the consumers that processes which are gone left in the step groups: a restarted
 * process joins under a new name, so without this the groups fill with dead names. A
 * consumer is removed only when its process keeps no presence key, it has been idle longer
 * than `idleMs`, and it holds no pending entry (those are claimed first, never dropped).
 */
export class ConsumerJanitor implements Duty {
  readonly name = 'janitor';
  readonly intervalMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly opts: {
      prefix: string;
      idleMs: number;
      intervalMs: number;
      isPresent: (consumer: string) => Promise<boolean>;
    },
    private readonly log: Logger,
  ) {
    this.intervalMs = opts.intervalMs;
  }

  async run(write: DutyWrite): Promise<void> {
    await write(async () => (await this.sweep()).length);
  }

  /** One pass over the step groups; returns the consumers removed. */
  async sweep(): Promise<string[]> {
    const removed: string[] = [];
    for (const step of STEPS) {
      const key = streamKey(this.opts.prefix, step);
      const consumers = (await this.redis.xinfo('CONSUMERS', key, GROUP).catch(() => [])) as (
        | string
        | number
      )[][];
      for (const c of consumers) {
        const f = fieldMap(c);
        const name = String(f.name);
        if (Number(f.pending) > 0 || Number(f.idle) < this.opts.idleMs) continue;
        if (await this.opts.isPresent(name)) continue;
        await this.redis.xgroup('DELCONSUMER', key, GROUP, name);
        removed.push(`${step}:${name}`);
      }
    }
    if (removed.length > 0) this.log.info({ removed }, 'consumers of gone processes removed');
    return removed;
  }
}
