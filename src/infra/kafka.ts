import { type Admin, type Consumer, Kafka, type logCreator, logLevel } from 'kafkajs';
import type { BatchPayload, OffsetCommitter } from '../settlement/intake/kafka-intake.js';
import type { Logger } from './log.js';

export interface KafkaConsumerOptions {
  brokers: string[];
  groupId: string;
  topic: string;
  clientId: string;
  /** how long the group waits for a silent member before rebalancing its partitions */
  sessionTimeoutMs: number;
  /** wait before the next connection attempt after `failures` failed ones in a row */
  backoffMs: (failures: number) => number;
}

/** Whether the consumer is in its group and fetching, and if not, why. */
export interface KafkaSourceState {
  up: boolean;
  /** 'consuming', 'connecting', or the last error with when the next attempt is */
  detail: string;
}

export interface KafkaSource {
  state(): KafkaSourceState;
  stop(): Promise<void>;
}

/** kafkajs' own log lines in the engine's log (pino, stderr), not as a second format on stdout. */
const intoPino =
  (log: Logger): logCreator =>
  () =>
  ({ level, namespace, log: entry }) => {
    const { message, timestamp: _t, logger: _l, ...fields } = entry;
    const at = level === logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : 'info';
    log[at]({ kafkajs: namespace, ...fields }, message);
  };

/**
 * The kafkajs consumer, kept thin: batches go to `handle` with the consumer as the offset
 * committer; nothing is resolved or committed automatically. It returns at once and
 * connects in the background: a broker that is down when the engine starts, or that goes
 * away for good (a crash kafkajs does not restart from), is tried again after
 * `backoffMs`, for as long as the source runs. The rest of the engine settles meanwhile.
 */
export function startKafkaConsumer(
  opts: KafkaConsumerOptions,
  handle: (payload: BatchPayload, committer: OffsetCommitter) => Promise<void>,
  log: Logger,
): KafkaSource {
  const kafka = new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.WARN,
    logCreator: intoPino(log),
    // a connect gives up within about a second (kafkajs' default, 5 retries, takes ~15 s): the
    // loop below backs off from there, and a stop never waits long for a connect under way;
    // a running consumer keeps kafkajs' own 5 retries and restarts
    retry: { initialRetryTime: 300, retries: 2 },
  });
  let state: KafkaSourceState = { up: false, detail: 'connecting' };
  let joined = false;
  let stopping = false;
  let current: Consumer | null = null;
  let wake: (() => void) | null = null;
  const stopped = new Promise<void>((r) => {
    wake = r;
  });

  /** One consumer from connect to its end; resolves with why it ended (null: stopping). */
  const attempt = async (): Promise<Error | null> => {
    const consumer = kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs,
      // kafkajs' own ratio (30 s / 3 s): several heartbeats may be lost before the session ends
      heartbeatInterval: Math.max(100, Math.floor(opts.sessionTimeoutMs / 10)),
    });
    current = consumer;
    const lost = new Promise<Error>((resolve) => {
      consumer.on(consumer.events.CRASH, (e) => {
        state = { up: false, detail: `${e.payload.error.name}: ${e.payload.error.message}` };
        // kafkajs restarts the consumer itself after a retriable crash
        if (!e.payload.restart) resolve(e.payload.error);
      });
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
      state = { up: true, detail: 'consuming' };
    });
    try {
      await consumer.connect();
      if (stopping) return null;
      await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => handle(payload, consumer),
      });
      log.info({ topic: opts.topic, groupId: opts.groupId }, 'kafka intake started; joining its group');
      return await Promise.race([lost, stopped.then(() => null)]);
    } catch (err) {
      return err as Error;
    } finally {
      // also when stopping: a connect that was under way when stop() disconnected ends here
      await consumer.disconnect().catch(() => undefined);
    }
  };

  const loop = async (): Promise<void> => {
    for (let failures = 1; !stopping; failures++) {
      const err = await attempt();
      if (stopping || err === null) return;
      // a consumer that got as far as its group starts the back-off over
      if (joined) failures = 1;
      joined = false;
      const waitMs = opts.backoffMs(failures);
      state = { up: false, detail: `${err.name}: ${err.message}; next attempt in ${waitMs} ms` };
      log.warn({ err, waitMs, brokers: opts.brokers }, 'kafka intake not connected; trying again');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
      clearTimeout(timer);
    }
  };
  const running = loop();

  return {
    state: () => state,
    async stop() {
      stopping = true;
      wake?.();
      await current?.disconnect().catch(() => undefined);
      await running;
    },
  };
}

/** Members of a consumer group once it is stable (0 while it is not), for a demo, a bench or a test. */
export async function stableGroupMembers(admin: Admin, groupId: string): Promise<number> {
  const { groups } = await admin.describeGroups([groupId]);
  return groups[0]?.state === 'Stable' ? groups[0].members.length : 0;
}

/** A connected admin client of `brokers` for `use`, disconnected afterwards. */
export async function withKafkaAdmin<T>(brokers: string[], use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka({ clientId: 'tradeflow-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}
