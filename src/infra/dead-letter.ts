import type { ChainableCommander } from 'ioredis';
import type { RedisConnection } from './redis.js';

/**
 * The one shape of a dead letter, whatever engine or transport it comes from: an input that
 * no retry can mend, kept for an operator (and for a redrive once a fix is out) instead of
 * being retried forever or dropped. Each area has its own stream of them
 * (`settle:dead`, `intake:dead`, `copy:signals:dead`), all with these fields:
 *
 *   source  where the input was: `{stream}/{entryId}`, `kafka:{topic}/{partition}/{offset}`, `fills`
 *   reason  why it was refused, starting with a stable code where there is one
 *   entry   the whole input, byte for byte (a stream entry as the JSON array of its fields)
 *   at      when it was dead-lettered (epoch ms)
 */
export interface DeadLetter {
  readonly source: string;
  readonly reason: string;
  readonly entry: string | Buffer;
}

/** Each dead-letter stream keeps about this many of its newest entries: a flood of garbage must not fill Redis. */
export const DEAD_LETTERS_KEPT = 10_000;

/** Adds a dead letter to `key` (on a connection, or queued on a pipeline of a batch). */
export function deadLetter(
  redis: RedisConnection | ChainableCommander,
  key: string,
  letter: DeadLetter,
): unknown {
  return (redis as RedisConnection).xadd(
    key,
    'MAXLEN',
    '~',
    DEAD_LETTERS_KEPT,
    '*',
    'source',
    letter.source,
    'reason',
    letter.reason,
    'entry',
    letter.entry,
    'at',
    String(Date.now()),
  );
}

export interface StoredDeadLetter {
  /** its id in the dead-letter stream */
  readonly id: string;
  readonly source: string;
  readonly reason: string;
  readonly entry: Buffer;
  readonly atMs: number;
}

/** Reads up to `count` dead letters of `key`, oldest first, each entry as the bytes stored. */
export async function readDeadLetters(
  redis: RedisConnection,
  key: string,
  count: number,
): Promise<StoredDeadLetter[]> {
  const rows = await redis.xrangeBuffer(key, '-', '+', 'COUNT', count);
  return rows.map(([id, flat]) => {
    const f = new Map<string, Buffer>();
    for (let i = 0; i + 1 < flat.length; i += 2) f.set(String(flat[i]), flat[i + 1] as Buffer);
    return {
      id: id.toString(),
      source: f.get('source')?.toString() ?? '',
      reason: f.get('reason')?.toString() ?? '',
      entry: f.get('entry') ?? Buffer.alloc(0),
      atMs: Number(f.get('at')?.toString() ?? 0),
    };
  });
}
