/**
 * The order of a user's notices, and the cursor that pages through them. Notices come from
 * three tables (copy_notice, copy_order, copy_skip); one list orders them newest first by
 * (createdMs, source, key), where a notice's key is its notice_id (compared as a number) and
 * a copy's or skip's its signal key (one row per signal and copier; compared byte for byte,
 * as MySQL compares the VARBINARY column). That triple is unique, so the order is total and
 * a page that starts strictly after the last item of the previous one neither repeats nor
 * skips a row that was there. The cursor is that triple, base64url-encoded.
 */
export type NoticeSource = 'notice' | 'copy' | 'skip';

/** ties on createdMs: a notice before a copy before a skip (newest first, descending rank) */
export const SOURCE_RANK: Readonly<Record<NoticeSource, number>> = { skip: 0, copy: 1, notice: 2 };
const SOURCES: readonly NoticeSource[] = ['skip', 'copy', 'notice'];

export interface NoticePosition {
  readonly createdMs: number;
  readonly source: NoticeSource;
  readonly key: string;
}

export class CursorError extends Error {
  constructor() {
    super('not a cursor of this list (use the `next` of a previous page)');
    this.name = 'CursorError';
  }
}

export const encodeCursor = (p: NoticePosition): string =>
  Buffer.from(`${p.createdMs}:${SOURCE_RANK[p.source]}:${p.key}`, 'latin1').toString('base64url');

export function decodeCursor(cursor: string): NoticePosition {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw new CursorError();
  const m = /^(\d{1,15}):([0-2]):(.+)$/s.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  const source = m ? SOURCES[Number(m[2])] : undefined;
  if (!m || !source) throw new CursorError();
  const key = m[3] as string;
  if (source === 'notice' && !/^\d{1,20}$/.test(key)) throw new CursorError();
  return { createdMs: Number(m[1]), source, key };
}

const compareKeys = (source: NoticeSource, a: string, b: string): number => {
  if (source === 'notice') {
    const [x, y] = [BigInt(a), BigInt(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
};

/** Negative when `a` comes first in the list (is newer), positive when after. */
export function newestFirst(a: NoticePosition, b: NoticePosition): number {
  if (a.createdMs !== b.createdMs) return b.createdMs - a.createdMs;
  if (a.source !== b.source) return SOURCE_RANK[b.source] - SOURCE_RANK[a.source];
  return -compareKeys(a.source, a.key, b.key);
}

/**
 * What a source's rows must satisfy to come after `cursor`, as a test on (created_ms, key):
 * older, or as old and after it among the same time's rows. For a source ranked below the
 * cursor's every row of its time comes after it; above, none does.
 */
export function afterCursor(
  source: NoticeSource,
  cursor: NoticePosition,
): { readonly olderThan: number; readonly sameMs: 'all' | 'none' | { readonly keyBelow: string } } {
  const rank = SOURCE_RANK[source];
  const at = SOURCE_RANK[cursor.source];
  const sameMs = rank < at ? 'all' : rank > at ? 'none' : { keyBelow: cursor.key };
  return { olderThan: cursor.createdMs, sameMs };
}
