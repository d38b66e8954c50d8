import type { Producer } from 'kafkajs';
import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../src/infra/mysql/client.js';
import { canal } from './canal-samples.js';

const COLUMNS = [
  'id',
  'order_id',
  'shard',
  'user_id',
  'biz_type',
  'flow',
  'asset',
  'qty',
  'usdt',
  'created_ms',
];

/**
 * What Canal does with the counter's inserts, played by a test that needs to choose when a
 * message reaches Kafka: the rows read back from the counter's table, one flat message per
 * row (every column a string, as Canal writes them), on the partition of their shard.
 */
export async function publishCounterRows(
  producer: Producer,
  opts: { topic: string; counter: Pool; database: string; orderIds: string[]; partitions: number },
): Promise<number> {
  if (opts.orderIds.length === 0) return 0;
  const [rows] = await opts.counter.query<RowDataPacket[]>(
    `SELECT ${COLUMNS.join(', ')} FROM sync_order WHERE order_id IN (?) ORDER BY id`,
    [opts.orderIds],
  );
  const messages = rows.map((r) => {
    const data = Object.fromEntries(COLUMNS.map((c) => [c, r[c] === null ? null : String(r[c])]));
    return {
      key: String(r.shard),
      partition: Number(r.shard) % opts.partitions,
      value: canal('INSERT', [data], { database: opts.database }),
    };
  });
  await producer.send({ topic: opts.topic, acks: -1, messages });
  return messages.length;
}
