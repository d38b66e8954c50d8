import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { inTransaction, type Pool } from '../infra/mysql/client.js';

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

/** A write that runs inside the fenced transaction, on its connection. */
export type FencedWrite<T> = (conn: PoolConnection) => Promise<T>;

/**
 * The fencing side of the coordinator role, in MySQL: the latest token is recorded when a
 * coordinator takes over, and every coordinator write runs in a transaction that first
 * checks its token against it.
 */
export class Fence {
  private readonly holdLimitS: number;

  /**
   * `holdLimitMs`: how long MySQL waits on a fenced transaction whose client went silent
   * before it closes the session. A holder paused inside one (GC, SIGSTOP) keeps the fence
   * row locked, and its successor cannot raise the token until that session is gone.
   */
  constructor(
    private readonly pool: Pool,
    private readonly name: string,
    holdLimitMs = 2000,
  ) {
    this.holdLimitS = Math.max(1, Math.ceil(holdLimitMs / 1000));
  }

  /**
   * Records a new latest token for `holder` and returns it: `candidate` (the Redis count),
   * or one above the latest recorded if that is not lower, so tokens only grow even when
   * Redis lost its counter.
   */
  async raise(candidate: number, holder: string): Promise<number> {
    return inTransaction(this.pool, async (conn) => {
      const token = Math.max(candidate, (await this.lockedLatest(conn)) + 1);
      await conn.query(
        'INSERT INTO coordinator_fence (name, token, holder, updated_ms) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE token=VALUES(token), holder=VALUES(holder), updated_ms=VALUES(updated_ms)',
        [this.name, token, holder, Date.now()],
      );
      return token;
    });
  }

  /**
   * `run` bound to `token` for a writer outside the duties (the poller's cursor): a write
   * refused as stale also tells `onFenced`, so the holder gives the role up.
   */
  writer(token: number, onFenced: (token: number) => void): <T>(write: FencedWrite<T>) => Promise<T> {
    return async <T>(write: FencedWrite<T>): Promise<T> => {
      try {
        return await this.run(token, write);
      } catch (err) {
        if (err instanceof FencedError) onFenced(token);
        throw err;
      }
    };
  }

  /** Runs `write` in a transaction that holds the fence row, if `token` is still the latest. */
  async run<T>(token: number, write: FencedWrite<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    let limited = false;
    try {
      await conn.query('SET SESSION wait_timeout=?', [this.holdLimitS]);
      limited = true;
      await conn.beginTransaction();
      const latest = await this.lockedLatest(conn);
      if (latest > token) throw new FencedError(token, latest);
      const result = await write(conn);
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      // back in the pool the connection waits as long as any other (or is dropped)
      const restored =
        !limited ||
        (await conn.query('SET SESSION wait_timeout=DEFAULT').then(
          () => true,
          () => false,
        ));
      if (restored) conn.release();
      else conn.destroy();
    }
  }

  /** The latest token, its row locked until the transaction ends (0 before the first). */
  private async lockedLatest(conn: PoolConnection): Promise<number> {
    const [rows] = await conn.query<RowDataPacket[]>(
      'SELECT token FROM coordinator_fence WHERE name=? FOR UPDATE',
      [this.name],
    );
    return Number(rows[0]?.token ?? 0);
  }
}
