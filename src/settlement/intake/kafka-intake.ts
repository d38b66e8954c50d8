import { type DeadLetter, deadLetter } from '../../infra/dead-letter.js';
import type { Logger } from '../../infra/log.js';
import type { RedisClient } from '../../infra/redis.js';
import type { IntakeOrder } from '../domain/order.js';
import { streamKey } from '../domain/streams.js';
import type { Decoded } from './decode/decoded.js';
import type { IntakeSink, Rejection } from './intake.js';

const SOURCE = 'kafka';
const HEARTBEAT_EVERY = 200;

/** The parts of a kafkajs `eachBatch` payload that intake uses (a test double provides the same). */
export interface BatchPayload {
  batch: { topic: string; partition: number; messages: { offset: string; value: Buffer | null }[] };
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  pause(): () => void;
  isRunning(): boolean;
  isStale(): boolean;
}

/** kafkajs `consumer.commitOffsets`: the offset committed is the next one to read. */
export interface OffsetCommitter {
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
}

/** Intake messages that could not be decoded, with where they came from and why. */
export const intakeDeadLetterKey = (prefix: string): string => `${prefix}:intake:dead`;

/**
 * Kafka intake of counter change messages: decode each message of a batch, dead-letter the
 * malformed, take the orders in through the one intake path, and only then resolve and
 * commit the offsets. A crash anywhere before the commit redelivers the batch, which
 * intake absorbs (unique order id). While the first step's stream holds more than
 * `maxLag` entries the partition is paused for `pauseMs`.
 */
export class KafkaIntake {
  constructor(
    private readonly sink: IntakeSink,
    private readonly decode: (raw: Buffer | null) => Decoded,
    private readonly redis: RedisClient,
    private readonly opts: {
      prefix: string;
      maxLag: number;
      pauseMs: number;
      /** a dead letter keeps the message whole up to this (TF_CDC_MAX_BYTES: no decodable message is larger) */
      maxBytes: number;
    },
    private readonly log: Logger,
  ) {}

  async handleBatch(p: BatchPayload, committer: OffsetCommitter): Promise<void> {
    const { topic, partition, messages } = p.batch;
    const orders = new Map<string, IntakeOrder>();
    const rejections: Rejection[] = [];
    const deadLetters: DeadLetter[] = [];
    let last: string | null = null;
    for (const [i, m] of messages.entries()) {
      if (!p.isRunning() || p.isStale()) break;
      const ref = `${topic}/${partition}/${m.offset}`;
      const d = this.decode(m.value);
      if (d.kind === 'dead') {
        const entry = m.value?.subarray(0, this.opts.maxBytes) ?? '';
        deadLetters.push({ source: `kafka:${ref}`, reason: d.reason, entry });
      } else {
        for (const o of d.orders) orders.set(o.orderId, o);
        const raw = d.rejected.length > 0 ? (m.value?.toString('utf8') ?? '') : '';
        for (const [j, r] of d.rejected.entries()) {
          rejections.push({ sourceRef: `${ref}#${j}`, orderId: r.orderId, reason: r.reason, raw });
        }
      }
      last = m.offset;
      if ((i + 1) % HEARTBEAT_EVERY === 0) await p.heartbeat();
    }
    if (last === null) return;
    if (deadLetters.length > 0) {
      const pipe = this.redis.pipeline();
      const key = intakeDeadLetterKey(this.opts.prefix);
      for (const letter of deadLetters) deadLetter(pipe, key, letter);
      const results = await pipe.exec();
      const failed = results?.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
      this.log.warn({ topic, partition, count: deadLetters.length }, 'intake messages dead-lettered');
    }
    await this.sink.reject(rejections, SOURCE);
    await this.sink.takeIn([...orders.values()], SOURCE);
    // only now, with the rows in MySQL, may Kafka forget these messages
    p.resolveOffset(last);
    await committer.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
    await p.heartbeat();
    const lag = await this.redis.xlen(streamKey(this.opts.prefix, 1));
    if (lag > this.opts.maxLag) {
      const resume = p.pause();
      setTimeout(resume, this.opts.pauseMs).unref();
      this.log.warn({ topic, partition, lag }, 'step 1 is behind; partition paused');
    }
  }
}
