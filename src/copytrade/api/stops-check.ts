import type { RowDataPacket } from 'mysql2/promise';
import { HttpError } from '../../infra/http.js';
import type { Pool } from '../../infra/mysql/client.js';
import { fx } from '../domain/fixed.js';
import type { FollowSettings } from '../domain/settings.js';
import { keptTraderId } from '../domain/slices.js';
import { stopReachedWhileFlat } from '../domain/stop-resume.js';
import { utcDay } from '../domain/stops.js';

/**
 * A follow about to copy again (resumed, or its settings replaced as active) whose equity
 * stop or daily loss limit is still reached gets 409 with the reason: copying would open a
 * position the watcher closes at once, fees and all. Only a follow without open slices of
 * the lead is judged here (stops.ts, stopReachedWhileFlat); one with open slices is the
 * watcher's, on the marks.
 */
export async function refuseIfStopReached(
  pool: Pool,
  follow: FollowSettings,
  now = Date.now(),
): Promise<void> {
  if (follow.status !== 'active') return;
  if (follow.equityStopRatio === undefined && follow.dailyLossLimit === undefined) return;
  const [[pair]] = await pool.query<RowDataPacket[]>(
    'SELECT COALESCE(SUM(realised_pnl), 0) AS realised, COALESCE(SUM(qty > 0), 0) AS open FROM copy_slice WHERE copier_id=? AND trader_id IN (?, ?)',
    [follow.copierId, follow.traderId, keptTraderId(follow.traderId)],
  );
  if (Number(pair?.open) > 0) return;
  const day = utcDay(now);
  let dayBase: bigint | undefined;
  if (follow.dailyLossLimit !== undefined) {
    const [[row]] = await pool.query<RowDataPacket[]>(
      'SELECT base_pnl FROM copy_follow_day WHERE copier_id=? AND trader_id=? AND day=?',
      [follow.copierId, follow.traderId, day],
    );
    if (row) dayBase = fx(trim(String(row.base_pnl)));
  }
  const reached = stopReachedWhileFlat(follow, fx(trim(String(pair?.realised ?? '0'))), dayBase, day);
  if (reached) throw new HttpError(409, reached.code, reached.message);
}

/** DECIMAL comes back zero-padded, at most 18 places. */
const trim = (v: string): string => (v.includes('.') ? v.replace(/\.?0+$/, '') : v) || '0';
