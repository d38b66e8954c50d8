import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import {
  afterCursor,
  encodeCursor,
  type NoticePosition,
  type NoticeSource,
  newestFirst,
} from '../domain/notice-cursor.js';
import type { CopyPayload, Notice, NoticeKind, SkipPayload } from './kinds.js';

export interface NoticePage {
  readonly notices: readonly Notice[];
  /** the cursor of the next (older) page; null when this one is the last */
  readonly next: string | null;
}

interface Source {
  readonly source: NoticeSource;
  readonly table: string;
  readonly user: string;
  readonly key: string;
  readonly columns: string;
  readonly toNotice: (r: RowDataPacket, userId: string) => Omit<Notice, 'id'>;
}

/** DECIMAL(36,18) comes back zero-padded: shown as the exact value it is */
const trim = (v: string | null): string | null =>
  v === null ? null : (v.includes('.') ? v.replace(/\.?0+$/, '') : v) || '0';

const SOURCES: readonly Source[] = [
  {
    source: 'notice',
    table: 'copy_notice',
    user: 'user_id',
    key: 'notice_id',
    columns: 'notice_id AS k, kind, payload, created_ms',
    toNotice: (r, userId) => ({
      userId,
      kind: r.kind as NoticeKind,
      createdMs: Number(r.created_ms),
      payload: JSON.parse(r.payload),
    }),
  },
  {
    source: 'copy',
    table: 'copy_order',
    user: 'copier_id',
    key: 'signal_key',
    columns:
      'signal_key AS k, client_order_id, trader_id, instrument, action, side, qty, status, fill_price, fee, error_code, created_ms',
    toNotice: (r, userId) => ({
      userId,
      kind: 'copy',
      createdMs: Number(r.created_ms),
      payload: {
        signalKey: r.k,
        clientOrderId: r.client_order_id,
        traderId: r.trader_id,
        instrument: r.instrument,
        action: r.action,
        side: r.side,
        qty: trim(r.qty) as string,
        status: r.status,
        price: trim(r.fill_price),
        fee: trim(r.fee),
        errorCode: r.error_code,
      } satisfies CopyPayload,
    }),
  },
  {
    source: 'skip',
    table: 'copy_skip',
    user: 'copier_id',
    key: 'signal_key',
    columns: 'signal_key AS k, trader_id, reason, detail, created_ms',
    toNotice: (r, userId) => ({
      userId,
      kind: 'skip',
      createdMs: Number(r.created_ms),
      payload: {
        signalKey: r.k,
        traderId: r.trader_id,
        reason: r.reason,
        detail: r.detail,
      } satisfies SkipPayload,
    }),
  },
];

/**
 * A user's notices, newest first, `limit` of them, strictly after `before` (a previous
 * page's `next`): its copy_notice rows merged with its copies (copy_order) and skips
 * (copy_skip), which the fan-out already records and which are therefore not written twice.
 * Each source gives at most `limit` rows past the cursor, the merge keeps the first `limit`
 * (notice-cursor.ts: the order, and why paging is stable).
 */
export async function listNotices(
  pool: Pool,
  userId: string,
  opts: { limit: number; before?: NoticePosition },
): Promise<NoticePage> {
  const pages = await Promise.all(SOURCES.map((s) => rowsOf(pool, s, userId, opts)));
  const all = pages.flat().sort((a, b) => newestFirst(a.position, b.position));
  const page = all.slice(0, opts.limit);
  const last = page.at(-1);
  return {
    notices: page.map((p) => p.notice),
    next: last && all.length >= opts.limit ? encodeCursor(last.position) : null,
  };
}

async function rowsOf(
  pool: Pool,
  s: Source,
  userId: string,
  opts: { limit: number; before?: NoticePosition },
): Promise<{ position: NoticePosition; notice: Notice }[]> {
  const where: string[] = [`${s.user}=?`];
  const params: unknown[] = [userId];
  if (opts.before) {
    const after = afterCursor(s.source, opts.before);
    if (after.sameMs === 'all') where.push('created_ms<=?');
    else if (after.sameMs === 'none') where.push('created_ms<?');
    else {
      where.push(`(created_ms<? OR (created_ms=? AND ${s.key}<?))`);
      params.push(after.olderThan);
    }
    params.push(after.olderThan);
    if (typeof after.sameMs === 'object') params.push(after.sameMs.keyBelow);
  }
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT ${s.columns} FROM ${s.table} WHERE ${where.join(' AND ')} ORDER BY created_ms DESC, ${s.key} DESC LIMIT ?`,
    [...params, opts.limit],
  );
  return rows.map((r) => {
    const position = { createdMs: Number(r.created_ms), source: s.source, key: String(r.k) };
    return { position, notice: { id: encodeCursor(position), ...s.toNotice(r, userId) } };
  });
}
