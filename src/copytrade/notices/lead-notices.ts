import type { RowDataPacket } from 'mysql2/promise';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { ApplicationPayload } from './kinds.js';
import { type NoticePusher, notify } from './notices.js';

/**
 * The leads' decisions as notices: an application's outcome to its applicant; a suspension
 * or a resumption to the lead and to each of its copiers. Written after the decision is
 * committed; a notice that cannot be written is logged, the decision stands.
 */
export interface LeadNotices {
  application(userId: string, payload: ApplicationPayload): Promise<void>;
  standing(traderId: string, status: 'suspended' | 'resumed', reason: string, atMs: number): Promise<void>;
}

export function leadNotices(pool: Pool, push: NoticePusher, log: Logger): LeadNotices {
  const failed = (err: unknown) => log.error({ err }, 'lead notice not written');
  return {
    async application(userId, payload) {
      const dedupKey = `application:${payload.applicationId}:${payload.status}`;
      await notify(pool, { userId, kind: 'application', dedupKey, payload }, push).catch(failed);
    },
    async standing(traderId, status, reason, atMs) {
      const [rows] = await pool.query<RowDataPacket[]>(
        "SELECT copier_id FROM copy_follow WHERE trader_id=? AND status<>'stopped'",
        [traderId],
      );
      const payload = { traderId, status, reason };
      for (const userId of [traderId, ...rows.map((r) => r.copier_id as string)]) {
        const dedupKey = `suspension:${traderId}:${status}:${atMs}:${userId}`;
        await notify(pool, { userId, kind: 'suspension', dedupKey, payload }, push).catch(failed);
      }
    },
  };
}
