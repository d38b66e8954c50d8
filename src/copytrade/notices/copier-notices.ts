import { randomBytes } from 'node:crypto';
import { HttpError } from '../../infra/http.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { intParam } from '../api/query.js';
import type { CopierRoute } from '../api/server.js';
import { CursorError, decodeCursor, type NoticePosition } from '../domain/notice-cursor.js';
import type { FollowPayload, StopPayload } from './kinds.js';
import { listNotices } from './list.js';
import { type NoticePusher, notify } from './notices.js';

const MAX_LIST = 500;

/** What the copiers' API does with notices: lists them, and writes one for each pause, resume and stop. */
export interface CopierNotices {
  readonly routes: readonly CopierRoute[];
  followChanged(copierId: string, kind: 'pause' | 'resume', payload: FollowPayload): Promise<void>;
  followChanged(copierId: string, kind: 'stop', payload: StopPayload): Promise<void>;
}

/**
 * GET /notices?limit=N&before=CURSOR: the copier's notices (copies, skips and the rest),
 * newest first, `limit` 1..500 (default 50), `next` the cursor of the older page. A lead is
 * a user too: its own notices (application decisions, suspensions, settlements) come here
 * and on its /stream, under the copier token of its user id.
 */
export function copierNotices(pool: Pool, push: NoticePusher, log: Logger): CopierNotices {
  return {
    routes: [
      {
        method: 'get',
        path: '/notices',
        query: ['limit', 'before'],
        handle: async (copierId, { query }) => {
          const limit = intParam(query, 'limit', { min: 1, max: MAX_LIST, fallback: 50 });
          const raw = query.get('before');
          return listNotices(pool, copierId, { limit, ...(raw === null ? {} : { before: cursorOf(raw) }) });
        },
      },
    ],
    async followChanged(
      copierId: string,
      kind: 'pause' | 'resume' | 'stop',
      payload: FollowPayload | StopPayload,
    ) {
      // each request is an event of its own: the key only guards a write retried by this call
      const dedupKey = `${kind}:${copierId}:${payload.traderId}:${Date.now()}:${randomBytes(4).toString('hex')}`;
      // the follow has changed and the book holds it: a notice that cannot be written is logged, not the request's failure
      await notify(pool, { userId: copierId, kind, dedupKey, payload } as never, push).catch((err) =>
        log.error({ err, copierId, kind }, 'notice not written'),
      );
    },
  };
}

function cursorOf(raw: string): NoticePosition {
  try {
    return decodeCursor(raw);
  } catch (err) {
    if (err instanceof CursorError) throw new HttpError(400, 'BAD_REQUEST', `before: ${err.message}`);
    throw err;
  }
}
