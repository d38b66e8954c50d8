import type { ResultSetHeader } from 'mysql2/promise';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisConnection } from '../../infra/redis.js';
import { encodeCursor } from '../domain/notice-cursor.js';
import { parseUserId } from '../domain/user.js';
import { NOTICE_KINDS, type Notice, type NoticePayloads, type WrittenKind } from './kinds.js';

/**
 * Writing a notice, and pushing it to its user's sockets. The row is the record (listed by
 * GET /notices); the push is the fast path to an open /stream. Any process may write one
 * (the copiers' API, the operator API, the profit-share worker); only the copy engine holds
 * the sockets, so a process elsewhere pushes through Redis pub/sub on
 * `{prefix}:copy:notices`, which the engine subscribes to (subscribeNotices). Pub/sub loses
 * what is published while the engine is away: the socket misses it, the list has it.
 */
export type NoticePusher = (notice: Notice) => void | Promise<void>;

export interface NoticeInput<K extends WrittenKind> {
  readonly userId: string;
  readonly kind: K;
  /** the same event written twice (a retried batch, a settlement run again) is one notice */
  readonly dedupKey: string;
  readonly payload: NoticePayloads[K];
}

const DEDUP_KEY = /^[\x21-\x7e]{1,255}$/;
/** copy_notice.payload is a TEXT: 65,535 bytes */
const PAYLOAD_MAX_BYTES = 65_535;

export const noticeChannel = (prefix: string): string => `${prefix}:copy:notices`;

/** A stored notice's id (and cursor). */
export const noticeIdOf = (noticeId: number | string, createdMs: number): string =>
  encodeCursor({ createdMs, source: 'notice', key: String(noticeId) });

/** What /stream sends for a notice: the listed item, typed as the socket's other messages are. */
export const noticeMessage = (n: Notice): Record<string, unknown> => ({ type: 'notice', ...n });

/**
 * Writes the notice unless one with its dedupKey exists (INSERT IGNORE on the unique key),
 * then pushes it. Resolves with the notice, or null for a duplicate (neither written nor
 * pushed again). The input is checked first, so IGNORE can only skip the duplicate, never
 * turn a too-long value into a silent truncation.
 */
export async function notify<K extends WrittenKind>(
  pool: Pool,
  input: NoticeInput<K>,
  push?: NoticePusher,
): Promise<Notice<K> | null> {
  const userId = parseUserId(input.userId);
  const kind: string = input.kind;
  if (!NOTICE_KINDS.includes(kind as never) || kind === 'copy' || kind === 'skip') {
    throw new Error(`notice: ${String(input.kind)} is not a kind that is written`);
  }
  if (!DEDUP_KEY.test(input.dedupKey))
    throw new Error('notice: dedupKey must be 1-255 printable ASCII characters');
  const payload = JSON.stringify(input.payload);
  if (Buffer.byteLength(payload) > PAYLOAD_MAX_BYTES) throw new Error('notice: payload over 64 KiB');
  const createdMs = Date.now();
  const [res] = await pool.query<ResultSetHeader>(
    'INSERT IGNORE INTO copy_notice (user_id, kind, dedup_key, payload, created_ms) VALUES (?, ?, ?, ?, ?)',
    [userId, input.kind, input.dedupKey, payload, createdMs],
  );
  if (res.affectedRows === 0) return null;
  const notice: Notice<K> = {
    id: noticeIdOf(res.insertId, createdMs),
    userId,
    kind: input.kind,
    createdMs,
    payload: input.payload,
  };
  await push?.(notice);
  return notice;
}

/** A pusher for a process without the sockets: the engine's subscriber forwards it. */
export function redisNoticePusher(redis: RedisConnection, prefix: string): NoticePusher {
  const channel = noticeChannel(prefix);
  return async (notice) => {
    await redis.publish(channel, JSON.stringify(notice));
  };
}

/** The notice a channel message carries, or why it carries none. */
export function decodeNotice(message: string): Notice | { error: string } {
  let n: unknown;
  try {
    n = JSON.parse(message);
  } catch {
    return { error: 'notice message is not JSON' };
  }
  const o = n as Partial<Notice> | null;
  if (
    typeof o !== 'object' ||
    o === null ||
    typeof o.id !== 'string' ||
    typeof o.userId !== 'string' ||
    typeof o.createdMs !== 'number' ||
    !NOTICE_KINDS.includes(o.kind as never) ||
    typeof o.payload !== 'object'
  ) {
    return { error: 'not a notice' };
  }
  return o as Notice;
}

/**
 * Subscribes `subscriber` (a connection of its own: a subscribed connection does nothing
 * else) to the notices channel and hands each notice to `deliver`. Resolves once subscribed.
 */
export async function subscribeNotices(
  subscriber: RedisConnection,
  prefix: string,
  deliver: (notice: Notice) => void,
  log: Logger,
): Promise<void> {
  const channel = noticeChannel(prefix);
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const notice = decodeNotice(message);
    if ('error' in notice) log.warn({ message: message.slice(0, 200) }, notice.error);
    else deliver(notice);
  });
  await subscriber.subscribe(channel);
}
