import type { ResultSetHeader } from 'mysql2/promise';
import type { RedisClient } from '../../infra/redis.js';
import { STEPS } from '../domain/flows.js';
import { GROUP, streamKey } from '../domain/streams.js';
import type { Duty, DutyWrite } from './duties.js';

const DAY_MS = 86_400_000;

/**
 * Keeps what the coordinator leaves behind bounded: each step stream is trimmed below the
 * oldest entry its group still owes (redis/trim-1.lua: acknowledged entries are deleted
 * one by one already; trimming releases whole stream nodes, whatever path an entry took),
 * and the run log loses rows older than `keepRunsMs` (a run's items: the run rows it removed).
 */
export class StreamTrim implements Duty {
  readonly name = 'trim';

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    readonly intervalMs: number,
    private readonly keepRunsMs = 7 * DAY_MS,
  ) {}

  /** The run log is pruned in the fenced write; the streams after its commit, outside the fence row's lock. */
  async run(write: DutyWrite): Promise<void> {
    await write(async (conn) => {
      const [res] = await conn.query<ResultSetHeader>(
        'DELETE FROM coordinator_run WHERE started_ms < ? LIMIT 10000',
        [Date.now() - this.keepRunsMs],
      );
      return res.affectedRows;
    });
    for (const step of STEPS) await this.redis.trim(streamKey(this.prefix, step), GROUP);
  }
}
