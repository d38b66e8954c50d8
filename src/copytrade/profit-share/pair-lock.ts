import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';

/**
 * One worker at a time on a pair (the engine's sweep, a cycle job, a stop job, a `tradeflow
 * profit-share settle` run): a MySQL named lock held on a connection of its own for as long
 * as the pair's calls take. MySQL frees it when that connection ends, so a process killed
 * mid-pair leaves no lock behind. The name is per database, since test worlds share a server.
 */
export async function withPairLock<T>(
  pool: Pool,
  pair: { copierId: string; traderId: string },
  waitMs: number,
  work: () => Promise<T>,
): Promise<T | 'busy'> {
  const conn = await pool.getConnection();
  const name = `${pair.copierId}\n${pair.traderId}`;
  try {
    const [[row]] = await conn.query<RowDataPacket[]>(
      "SELECT GET_LOCK(CONCAT('tfps:', SHA1(CONCAT(DATABASE(), '\\n', ?))), ?) AS got",
      [name, waitMs / 1000],
    );
    if (Number(row?.got) !== 1) return 'busy';
    try {
      return await work();
    } finally {
      await conn.query("SELECT RELEASE_LOCK(CONCAT('tfps:', SHA1(CONCAT(DATABASE(), '\\n', ?))))", [name]);
    }
  } finally {
    conn.release();
  }
}
