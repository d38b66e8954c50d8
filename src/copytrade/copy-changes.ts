/**
 * What a writer of copy-trading rows (a lead's settings, a copier, its follows) announces on
 * `{prefix}:copy:changed`, so the fan-out's book reloads that part at once. One message per
 * change, in words:
 *   `lead:{traderId}`   the lead's row (settings, instruments, maxCopiers, profit share, onLiquidation)
 *   `copier:{copierId}` the copier's row or any of its follows
 *   `all`               everything (a bulk write)
 * Pub/sub loses what is published while the subscriber reconnects: the book also reloads
 * everything on resubscribe and every `TF_COPY_BOOK_RELOAD_MS`.
 */
import type { RedisConnection } from '../infra/redis.js';

export type CopyChange =
  | { kind: 'lead'; traderId: string }
  | { kind: 'copier'; copierId: string }
  | { kind: 'all' };

export const copyChangedChannel = (prefix: string): string => `${prefix}:copy:changed`;

export const leadChanged = (traderId: string): CopyChange => ({ kind: 'lead', traderId });
export const copierChanged = (copierId: string): CopyChange => ({ kind: 'copier', copierId });

export function encodeCopyChange(c: CopyChange): string {
  switch (c.kind) {
    case 'lead':
      return `lead:${c.traderId}`;
    case 'copier':
      return `copier:${c.copierId}`;
    case 'all':
      return 'all';
  }
}

/** The change a message announces, or why it announces none. */
export function decodeCopyChange(message: string): CopyChange | { error: string } {
  if (message === 'all') return { kind: 'all' };
  const colon = message.indexOf(':');
  const kind = message.slice(0, colon);
  const id = message.slice(colon + 1);
  if (colon < 0 || id === '') return { error: `not a copy change: ${JSON.stringify(message.slice(0, 100))}` };
  if (kind === 'lead') return { kind: 'lead', traderId: id };
  if (kind === 'copier') return { kind: 'copier', copierId: id };
  return { error: `unknown copy change ${JSON.stringify(kind.slice(0, 40))}` };
}

/** Announces changes already written (after the commit: the reader must find them). */
export type PublishCopyChanges = (...changes: CopyChange[]) => Promise<void>;

export function copyChangePublisher(redis: RedisConnection, prefix: string): PublishCopyChanges {
  const channel = copyChangedChannel(prefix);
  return async (...changes) => {
    if (changes.length === 0) return;
    const p = redis.pipeline();
    for (const c of changes) p.publish(channel, encodeCopyChange(c));
    const results = (await p.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  };
}
