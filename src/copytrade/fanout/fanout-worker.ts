import type { Logger } from '../../infra/log.js';
import type { RedisClient } from '../../infra/redis.js';
import { decodeCopyEntry, signalDeadLetterKey, signalStreamKey } from '../ingress/codec.js';
import { BadSignal, type Fanout, type FanoutResult } from './fanout.js';

export const FANOUT_GROUP = 'fanout';
const RETRY_MS = 200;
const DEAD_LETTERS_KEPT = 10_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Feeds the stream `copy:signals` to the fan-out, one signal at a time and in stream
 * order (a trader's close must follow its open). At start it takes over every entry still
 * pending (of the previous holder of the fan-out role, dead or stopped: one fan-out runs at
 * a time) and runs those as deliveries again; an entry is acknowledged and deleted only once
 * its fan-out is recorded. A fan-out that fails is retried, never skipped.
 */
export class FanoutWorker {
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly redis: RedisClient,
    /** a connection of its own: XREADGROUP BLOCK holds it */
    private readonly blocking: RedisClient,
    private readonly fanout: Fanout,
    private readonly opts: { prefix: string; consumer: string },
    private readonly log: Logger,
    private readonly observe?: (r: FanoutResult, receivedMs: number) => void,
  ) {}

  async start(): Promise<void> {
    const key = signalStreamKey(this.opts.prefix);
    try {
      await this.redis.xgroup('CREATE', key, FANOUT_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err as Error).message.includes('BUSYGROUP')) throw err;
    }
    this.running = true;
    this.loop = this.run(key).catch((err: unknown) => {
      this.log.fatal({ err }, 'copy fan-out stopped');
      process.exitCode = 1;
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.fanout.stop();
    await this.loop;
  }

  private async run(key: string): Promise<void> {
    // what a dead process left: taken over, delivered again
    for (let cursor = '0-0'; this.running; ) {
      try {
        const [next, entries] = (await this.redis.xautoclaim(
          key,
          FANOUT_GROUP,
          this.opts.consumer,
          0,
          cursor,
          'COUNT',
          100,
        )) as [string, [string, string[]][]];
        for (const [id, fields] of entries) {
          if (!this.running) return;
          if (fields) await this.handle(key, id, fields, true);
        }
        if (next === '0-0') break;
        cursor = next;
      } catch (err) {
        this.log.error({ err }, 'taking over pending copy signals failed; retrying');
        await pause(RETRY_MS);
      }
    }
    while (this.running) {
      try {
        const reply = (await this.blocking.xreadgroup(
          'GROUP',
          FANOUT_GROUP,
          this.opts.consumer,
          'COUNT',
          16,
          'BLOCK',
          500,
          'STREAMS',
          key,
          '>',
        )) as [string, [string, string[]][]][] | null;
        // an entry read but not handled stays pending for the next holder
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          if (!this.running) return;
          await this.handle(key, id, fields, false);
        }
      } catch (err) {
        // Redis away: the entry read but not handled stays pending and is taken over at start
        this.log.error({ err }, 'reading copy signals failed; retrying');
        await pause(RETRY_MS);
      }
    }
  }

  /** An entry no retry can mend: kept with its reason for an operator, and taken off the stream. */
  private async deadLetter(key: string, id: string, reason: string, fields: string[]): Promise<void> {
    this.log.warn({ entry: id, reason }, 'copy signal dead-lettered');
    await this.redis.xadd(
      signalDeadLetterKey(this.opts.prefix),
      'MAXLEN',
      '~',
      DEAD_LETTERS_KEPT,
      '*',
      'reason',
      reason,
      'entry',
      id,
      'raw',
      JSON.stringify(fields),
    );
    await this.redis.ack(key, FANOUT_GROUP, id);
  }

  private async handle(key: string, id: string, fields: string[], redelivered: boolean): Promise<void> {
    const entry = decodeCopyEntry(fields);
    if ('error' in entry) {
      await this.deadLetter(key, id, entry.error, fields);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const again = redelivered || attempt > 1;
        if ('closeOut' in entry) {
          await this.fanout.closeOut(entry.closeOut, again);
          await this.redis.ack(key, FANOUT_GROUP, id);
          return;
        }
        const result = await this.fanout.run(entry, again);
        await this.redis.ack(key, FANOUT_GROUP, id);
        this.observe?.(result, entry.receivedMs);
        return;
      } catch (err) {
        if (err instanceof BadSignal) {
          await this.deadLetter(key, id, err.message, fields);
          return;
        }
        this.log.error({ err, entry: id, attempt }, 'fan-out failed; retrying');
        if (!this.running) return;
        await new Promise((r) => setTimeout(r, Math.min(RETRY_MS * attempt, 5000)));
      }
    }
  }
}
