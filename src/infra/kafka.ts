import { Kafka, logLevel } from 'kafkajs';
import type { BatchPayload, OffsetCommitter } from '../settlement/kafka-intake.js';
import type { Logger } from './log.js';

export interface KafkaConsumerOptions {
  brokers: string[];
  groupId: string;
  topic: string;
  clientId: string;
}

/**
 * The kafkajs consumer, kept thin: batches go to `handle` with the consumer as the offset
 * committer; nothing is resolved or committed automatically.
 */
export async function startKafkaConsumer(
  opts: KafkaConsumerOptions,
  handle: (payload: BatchPayload, committer: OffsetCommitter) => Promise<void>,
  log: Logger,
): Promise<{ stop(): Promise<void> }> {
  const kafka = new Kafka({ clientId: opts.clientId, brokers: opts.brokers, logLevel: logLevel.WARN });
  const consumer = kafka.consumer({ groupId: opts.groupId });
  await consumer.connect();
  await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: (payload) => handle(payload, consumer),
  });
  log.info({ topic: opts.topic, groupId: opts.groupId }, 'kafka intake consuming');
  return { stop: () => consumer.disconnect() };
}
