import type { Logger } from '../../infra/log.js';
import type { RedisClient } from '../../infra/redis.js';
import { type Handled, StreamConsumer, type StreamEntry } from '../../infra/stream-consumer.js';
import type { Turns } from '../../infra/turns.js';
import { decodeCopyEntry, signalDeadLetterKey, signalStreamKey } from '../ingress/codec.js';
import type { FanoutObserver } from '../metrics.js';
import type { CopierLiquidations } from './copier-liquidation.js';
import { BadSignal, type Fanout } from './fanout.js';

export const FANOUT_GROUP = 'fanout';
const STOP_WAIT_MS = 10_000;

/**
 * Feeds the stream `copy:signals` to the fan-out through the shared StreamConsumer in its
 * `ordered` mode: one signal at a time and in stream order (a trader's close must follow its
 * open), every entry another consumer holds pending (a previous holder of the fan-out role,
 * dead, stopped, or reading late) taken over before a newer one and delivered again. An
 * entry is acknowledged and deleted only once its fan-out is recorded; a fan-out that fails
 * is retried, never skipped; one that can never be sized is dead-lettered.
 */
export class FanoutWorker {
  private readonly consumer: StreamConsumer;
  private readonly liquidations: CopierLiquidations | undefined;

  constructor(
    redis: RedisClient,
    /** a connection of its own: XREADGROUP BLOCK holds it */
    blocking: RedisClient,
    private readonly fanout: Fanout,
    opts: {
      prefix: string;
      consumer: string;
      holdsRole?: () => boolean;
      /** copiers' own liquidations (stream field `l`); left out: such an entry is dead-lettered */
      liquidations?: CopierLiquidations;
      /** shared with drift repair: one of the two moves the book's slices at a time */
      turns?: Turns;
    },
    log: Logger,
    private readonly observer?: FanoutObserver,
  ) {
    this.liquidations = opts.liquidations;
    this.consumer = new StreamConsumer(
      {
        streams: [signalStreamKey(opts.prefix)],
        group: FANOUT_GROUP,
        consumer: opts.consumer,
        deadLetterKey: signalDeadLetterKey(opts.prefix),
        mode: 'ordered',
      },
      {
        redis,
        blocking,
        // one entry at a time with the drift repairs (drift/), which move the same book
        handle: (e) => (opts.turns ? opts.turns.run(() => this.handle(e)) : this.handle(e)),
        mayConsume: opts.holdsRole,
        log,
      },
    );
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  /** Stops the fan-out at once (nothing more is recorded) and waits for the loop, at most `deadlineMs`. */
  async stop(deadlineMs = STOP_WAIT_MS): Promise<void> {
    this.fanout.stop();
    await this.consumer.stop(deadlineMs);
  }

  private async handle({ fields, redelivered }: StreamEntry): Promise<Handled> {
    const entry = decodeCopyEntry(fields);
    if ('error' in entry) return this.deadLetter(entry.error);
    try {
      if ('liquidation' in entry) {
        if (!this.liquidations) return this.deadLetter('a copier liquidation, and no one to take it');
        await this.liquidations.run(entry.liquidation, entry.receivedMs);
        return 'ack';
      }
      if ('closeOut' in entry) {
        await this.fanout.closeOut(entry.closeOut, redelivered);
        this.observer?.closedOut();
        return 'ack';
      }
      const result = await this.fanout.run(entry, redelivered);
      this.observer?.fannedOut(result, entry.receivedMs);
      return 'ack';
    } catch (err) {
      if (err instanceof BadSignal) return this.deadLetter(err.message);
      throw err;
    }
  }

  private deadLetter(reason: string): Handled {
    this.observer?.deadLettered();
    return { deadLetter: reason };
  }
}
