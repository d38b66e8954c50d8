import type { SettlementSettings } from '../../config.js';
import { type KafkaSourceState, startKafkaConsumer } from '../../infra/kafka.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import { retryDelayMs } from '../domain/errors.js';
import type { SettlementMetrics } from '../ops/metrics.js';
import { decoderFor } from './decode/decoder.js';
import { Intake } from './intake.js';
import { KafkaIntake } from './kafka-intake.js';
import { Watermarks } from './watermarks.js';

const KAFKA_RECONNECT_MIN_MS = 500;

const kafkaNote = (s: KafkaSourceState): string =>
  s.up ? 'kafka source: up' : `kafka source: down (${s.detail.replace(/\s+/g, ' ')})`;

/** How counter rows become orders, shared by the Kafka intake and the coordinator's poller and reconciler. */
export interface TakingIn {
  intake: Intake;
  watermarks: Watermarks;
}

export function takingIn(
  config: SettlementSettings,
  deps: { enginePool: Pool; redis: RedisClient; metrics: SettlementMetrics; log: Logger },
): TakingIn {
  const { redis, metrics, log } = deps;
  const watermarks = new Watermarks(redis, config.redisPrefix, config.maxClockSkewMs, (err) =>
    log.warn({ err }, 'intake watermark not raised in Redis; the next raise carries it'),
  );
  const intake = new Intake(deps.enginePool, redis, config.redisPrefix, {
    watermarks,
    observe: (source, n) => metrics.tookIn(source, n),
    maxSkewMs: config.maxClockSkewMs,
    observeSkew: (source, skewMs, rejected) => {
      metrics.sawSkew(source, skewMs, rejected);
      if (rejected > 0)
        log.warn({ source, rejected, skewMs }, 'counter rows dated beyond the clock skew rejected');
    },
  });
  return { intake, watermarks };
}

export interface IntakeStage {
  /** stops the Kafka consumer */
  stop(): Promise<void>;
  /** for /healthz: the Kafka source's state (none when it is not configured) */
  notes(): string[];
}

/**
 * Stage 1 in every process: Kafka brings the counter's change messages (partitions are
 * shared); the poller, if configured, runs in the coordinator role.
 */
export function startIntake(
  config: SettlementSettings,
  deps: { taking: TakingIn; redis: RedisClient; metrics: SettlementMetrics; consumer: string; log: Logger },
): IntakeStage {
  const { redis, metrics, log } = deps;
  const kafkaIntake = new KafkaIntake(
    deps.taking.intake,
    decoderFor(config.cdcFormat, config),
    redis,
    { prefix: config.redisPrefix, maxLag: config.kafkaMaxLag, pauseMs: 1000, maxBytes: config.cdcMaxBytes },
    log,
  );
  // Kafka connects in the background and keeps trying while no broker answers; the
  // reconciler (4) covers what it does not bring meanwhile
  const kafka =
    config.source === 'poll' || config.source === 'none'
      ? null
      : startKafkaConsumer(
          {
            brokers: config.kafkaBrokers.split(','),
            groupId: config.kafkaGroup,
            topic: config.kafkaTopic,
            clientId: deps.consumer,
            sessionTimeoutMs: config.kafkaSessionTimeoutMs,
            backoffMs: (failures) =>
              retryDelayMs(failures, KAFKA_RECONNECT_MIN_MS, config.kafkaReconnectMaxMs, Math.random),
          },
          (payload, committer) => kafkaIntake.handleBatch(payload, committer),
          log,
        );
  if (kafka) metrics.kafkaSource(() => kafka.state().up);
  return {
    stop: async () => {
      await kafka?.stop();
    },
    // not a reason to be unready: without Kafka the reconciler still takes orders in
    notes: () => (kafka ? [kafkaNote(kafka.state())] : []),
  };
}
