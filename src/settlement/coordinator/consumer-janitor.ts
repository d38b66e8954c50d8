import type { Logger } from '../../infra/log.js';
import { fieldMap, type RedisClient } from '../../infra/redis.js';
import { STEPS, type Step } from '../domain/flows.js';
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

  /** The Redis reads before the fenced write, the removals after its commit: the fence row is not held for Redis. */
  async run(write: DutyWrite): Promise<void> {
    const gone = await this.gone();
    await write(async () => gone.length);
    await this.remove(gone);
  }

  /** One pass over the step groups; returns the consumers removed. */
  async sweep(): Promise<string[]> {
    const gone = await this.gone();
    await this.remove(gone);
    return gone.map((g) => `${g.step}:${g.name}`);
  }

  /** Consumers with nothing pending, idle past `idleMs`, whose process is gone (it reads no more). */
  private async gone(): Promise<{ step: Step; name: string }[]> {
    const gone: { step: Step; name: string }[] = [];
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
        gone.push({ step, name });
      }
    }
    return gone;
  }

  private async remove(gone: { step: Step; name: string }[]): Promise<void> {
    for (const { step, name } of gone)
      await this.redis.xgroup('DELCONSUMER', streamKey(this.opts.prefix, step), GROUP, name);
    if (gone.length > 0)
      this.log.info(
        { removed: gone.map((g) => `${g.step}:${g.name}`) },
        'consumers of gone processes removed',
      );
  }
}
