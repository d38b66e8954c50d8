import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../infra/mysql/client.js';

/** A coordinator write refused because a newer coordinator has taken over. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  constructor(
    readonly token: number,
    readonly latest: number,
  ) {
    super(`fencing token ${token} is older than ${latest}: another coordinator has taken over`);
  }
}

/**
 * The fencing side of the coordinator role, in MySQL: the latest token is recorded when a
 * coordinator takes over, and every coordinator write runs in a transaction that first
 * checks its token against it.
 */
export class Fence {
  constructor(
    private readonly pool: Pool,
    private readonly name: string,
  ) {}

  /** Records `token` as the latest, unless a newer one is already there. */
  async raise(token: number): Promise<void> {
    await this.pool.query(
      'INSERT INTO coordinator_fence (name, token, updated_ms) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE token=GREATEST(token, VALUES(token)), updated_ms=VALUES(updated_ms)',
      [this.name, token, Date.now()],
    );
  }

  /** Runs `write` in a transaction that holds the fence row, if `token` is still the latest. */
  async run<T>(token: number, write: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT token FROM coordinator_fence WHERE name=? FOR UPDATE',
        [this.name],
      );
      const latest = Number(rows[0]?.token ?? 0);
      if (latest > token) throw new FencedError(token, latest);
      const result = await write(conn);
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }
}
