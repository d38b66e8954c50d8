import { Kafka, logLevel } from 'kafkajs';
import type { RowDataPacket } from 'mysql2/promise';
import { createPool } from '../../src/infra/mysql/client.js';
import { migrateDatabase } from '../../src/infra/mysql/migrate.js';
import { CanalCdc } from './cdc.js';
import { type KafkaNode, startKafkaNode } from './kafka/kafka-node.js';
import { BinlogMariaDb } from './mariadb/binlog-mariadb.js';

/** the database Canal's filter and partition hash name (test/infra/canal/conf, compose/mysql-init.sql) */
export const CANAL_COUNTER_DB = 'tradeflow_counter';

/** The production intake path on one machine: counter MariaDB (binlog) → Canal → Kafka. */
export interface CdcChain {
  kafka: KafkaNode;
  counter: BinlogMariaDb;
  canal: CanalCdc;
  topic: string;
  /** what an engine, the simulator and `tradeflow load` need to use this chain */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts a Kafka node, a MariaDB with binlog holding the counter's (migrated) table, and
 * Canal reading it into a topic of `partitions` partitions, from the binlog position before
 * any row. Whatever fails on the way stops what was started.
 */
export async function startCdcChain(opts: { topic?: string; partitions?: number } = {}): Promise<CdcChain> {
  const topic = opts.topic ?? 'counter.sync_order';
  const partitions = opts.partitions ?? 16;
  const started: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of started.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    const [k, c] = await Promise.allSettled([startKafkaNode({ partitions }), new BinlogMariaDb().start()]);
    if (k.status === 'fulfilled') started.push(() => k.value.stop());
    if (c.status === 'fulfilled') started.push(() => c.value.stop());
    if (k.status === 'rejected') throw k.reason;
    if (c.status === 'rejected') throw c.reason;
    const kafka = k.value;
    const counter = c.value;
    const admin = new Kafka({
      clientId: 'cdc-chain',
      brokers: kafka.brokers,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    await migrateDatabase(counter.url, CANAL_COUNTER_DB, 'counter');
    const canal = new CanalCdc({
      master: `127.0.0.1:${counter.port}`,
      brokers: kafka.brokers.join(','),
      topic,
      startAt: await masterStatus(counter.url),
    });
    started.push(() => canal.dispose());
    await canal.start();
    return {
      kafka,
      counter,
      canal,
      topic,
      env: {
        TF_COUNTER_MYSQL_URL: counter.url,
        TF_COUNTER_DB: CANAL_COUNTER_DB,
        TF_KAFKA_BROKERS: kafka.brokers.join(','),
        TF_KAFKA_TOPIC: topic,
        TF_CDC_FORMAT: 'canal',
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Where the binlog is now: Canal's first start begins there, so no row before it is lost. */
export async function masterStatus(url: string): Promise<{ file: string; position: number }> {
  const pool = createPool(url, CANAL_COUNTER_DB, { connections: 1 });
  try {
    const [status] = await pool.query<RowDataPacket[]>('SHOW MASTER STATUS');
    const row = status[0];
    if (!row) throw new Error('SHOW MASTER STATUS returned nothing: is the binlog on?');
    return { file: String(row.File), position: Number(row.Position) };
  } finally {
    await pool.end();
  }
}
