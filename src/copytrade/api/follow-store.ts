import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { money } from '../../domain/money.js';
import { HttpError } from '../../infra/http.js';
import { inTransaction, type Pool } from '../../infra/mysql/client.js';
import { copierChanged, type PublishCopyChanges } from '../copy-changes.js';
import { type FollowSettings, type FollowStatus, hasRoomForCopier } from '../domain/settings.js';
import { SettingsError } from '../domain/settings-error.js';
import { parseFollowSettings, parseLeadSettings } from '../domain/settings-parse.js';
import { refuseIfStopReached } from './stops-check.js';

/**
 * The copiers' side of copy trading in MySQL: follows and their changes (checked against the
 * lead's settings and the copier's other follows), and what a copier may read of its own
 * slices, orders and skips. Not on the hot path; who a token belongs to is the credential
 * cache's (credentials.ts), answered without MySQL.
 */
export class FollowStore {
  constructor(
    private readonly pool: Pool,
    /** every follow written is announced, for a fan-out's book in another process (copy-changes.ts) */
    private readonly publish: PublishCopyChanges,
  ) {}

  /** Creates or replaces the copier's follow of `traderId` with `body` (settings without the ids). */
  async follow(copierId: string, traderId: string, body: unknown): Promise<FollowSettings> {
    const { inviteCode, ...rest } = (typeof body === 'object' && body !== null ? body : {}) as Record<
      string,
      unknown
    >;
    if (inviteCode !== undefined && typeof inviteCode !== 'string') {
      throw new HttpError(422, 'INVALID_SETTINGS', 'inviteCode: expected a string');
    }
    const settings = parse(
      typeof body === 'object' && body !== null
        ? { ...rest, copierId, traderId, status: statusOf(body) }
        : body,
    );
    const [[lead]] = await this.pool.query<RowDataPacket[]>(
      'SELECT settings FROM copy_trader WHERE trader_id=?',
      [traderId],
    );
    if (!lead) throw new HttpError(404, 'NO_SUCH_TRADER', `${traderId} does not lead`);
    const leadSettings = parseLeadSettings(JSON.parse(lead.settings));
    const notLed = settings.instruments.filter((i) => !leadSettings.instruments.includes(i));
    if (notLed.length > 0) {
      throw new HttpError(422, 'INSTRUMENT_NOT_LED', `${traderId} does not lead ${notLed.join(', ')}`);
    }
    const terms = await this.terms(traderId);
    if (terms?.status === 'suspended') {
      throw new HttpError(
        409,
        'LEAD_SUSPENDED',
        `${traderId} is suspended: it takes no follows until resumed`,
      );
    }
    if (
      terms &&
      settings.sizing.mode === 'fixed-amount' &&
      belowMin(settings.sizing.margin, terms.minCopyAmount)
    ) {
      throw new HttpError(
        422,
        'BELOW_MIN_COPY_AMOUNT',
        `${traderId} copies at least ${terms.minCopyAmount} USDT per open; sizing.margin is ${settings.sizing.margin}`,
      );
    }
    // a follow stop still reached: copying again would be closed at once (stops-check.ts)
    await refuseIfStopReached(this.pool, settings);
    await inTransaction(this.pool, async (conn) => {
      // the copier's row, locked: two changes of one copier's follows are checked one after the other
      await conn.query('SELECT copier_id FROM copy_copier WHERE copier_id=? FOR UPDATE', [copierId]);
      if (terms?.visibility === 'private')
        await admitByInvite(conn, copierId, traderId, inviteCode, Date.now());
      const [others] = await conn.query<RowDataPacket[]>(
        "SELECT trader_id, settings FROM copy_follow WHERE copier_id=? AND status<>'stopped'",
        [copierId],
      );
      // the position mode is the exchange account's: every follow of one account names the same
      for (const o of others) {
        const mode = JSON.parse(o.settings).positionMode;
        if (o.trader_id !== traderId && mode !== settings.positionMode) {
          throw new HttpError(409, 'POSITION_MODE_CONFLICT', `the follow of ${o.trader_id} uses ${mode}`);
        }
      }
      // the lead's row, locked: two copiers taking the last place cannot both get it
      await conn.query('SELECT trader_id FROM copy_trader WHERE trader_id=? FOR UPDATE', [traderId]);
      const [[n]] = await conn.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM copy_follow WHERE trader_id=? AND status<>'stopped' AND copier_id<>?",
        [traderId, copierId],
      );
      if (!hasRoomForCopier(leadSettings, Number(n?.n))) {
        throw new HttpError(
          409,
          'TRADER_FULL',
          `${traderId} accepts at most ${leadSettings.maxCopiers} copiers`,
        );
      }
      await conn.query(
        'INSERT INTO copy_follow (copier_id, trader_id, settings, status, updated_ms) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE settings=VALUES(settings), status=VALUES(status), updated_ms=VALUES(updated_ms)',
        [copierId, traderId, JSON.stringify(settings), settings.status, Date.now()],
      );
    });
    await this.publish(copierChanged(copierId));
    return settings;
  }

  /** The lead's standing row, if it has one (legacy leads: public, no minimum, approved). */
  private async terms(
    traderId: string,
  ): Promise<{ status: string; visibility: string; minCopyAmount: string } | undefined> {
    const [[row]] = await this.pool.query<RowDataPacket[]>(
      'SELECT status, visibility, min_copy_amount FROM copy_lead_status WHERE trader_id=?',
      [traderId],
    );
    return row
      ? { status: row.status, visibility: row.visibility, minCopyAmount: trim(row.min_copy_amount) }
      : undefined;
  }

  /**
   * Pauses, resumes or stops a follow; its settings stay. A stopped follow stays stopped:
   * following again goes through PUT, which checks the lead's room and the position mode.
   */
  async setStatus(copierId: string, traderId: string, status: FollowStatus): Promise<void> {
    if (status === 'active') await this.refuseResumeIfStopReached(copierId, traderId);
    const [res] = await this.pool.query<ResultSetHeader>(
      "UPDATE copy_follow SET status=?, updated_ms=? WHERE copier_id=? AND trader_id=? AND status<>'stopped'",
      [status, Date.now(), copierId, traderId],
    );
    if (res.affectedRows === 1) {
      await this.publish(copierChanged(copierId));
      return;
    }
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT status FROM copy_follow WHERE copier_id=? AND trader_id=?',
      [copierId, traderId],
    );
    if (rows[0])
      throw new HttpError(
        409,
        'FOLLOW_STOPPED',
        `the follow of ${traderId} is stopped: follow again with PUT`,
      );
    throw new HttpError(404, 'NO_SUCH_FOLLOW', `no follow of ${traderId}`);
  }

  private async refuseResumeIfStopReached(copierId: string, traderId: string): Promise<void> {
    const [[row]] = await this.pool.query<RowDataPacket[]>(
      "SELECT settings FROM copy_follow WHERE copier_id=? AND trader_id=? AND status<>'stopped'",
      [copierId, traderId],
    );
    if (!row) return;
    const follow = parseFollowSettings({ ...JSON.parse(row.settings), status: 'active' }, { stored: true });
    await refuseIfStopReached(this.pool, follow);
  }

  /** Stops a follow; stopping a stopped follow changes nothing and is no error. */
  async stop(copierId: string, traderId: string): Promise<void> {
    const [res] = await this.pool.query<ResultSetHeader>(
      "UPDATE copy_follow SET status='stopped', updated_ms=? WHERE copier_id=? AND trader_id=?",
      [Date.now(), copierId, traderId],
    );
    if (res.affectedRows === 0) throw new HttpError(404, 'NO_SUCH_FOLLOW', `no follow of ${traderId}`);
    await this.publish(copierChanged(copierId));
  }

  async follows(copierId: string): Promise<unknown[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT trader_id, settings, status, updated_ms FROM copy_follow WHERE copier_id=? ORDER BY trader_id',
      [copierId],
    );
    return rows.map((r) => ({
      ...JSON.parse(r.settings),
      status: r.status,
      updatedMs: Number(r.updated_ms),
    }));
  }

  async slices(copierId: string): Promise<RowDataPacket[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT trader_id AS traderId, instrument, side, qty, avg_entry_price AS avgEntryPrice, realised_pnl AS realisedPnl, fees, share_accrued AS shareAccrued FROM copy_slice WHERE copier_id=? ORDER BY trader_id, instrument, side',
      [copierId],
    );
    return rows;
  }

  /** The copier's latest copy orders and skips (with their reasons), newest first. */
  async orders(copierId: string, limit: number): Promise<RowDataPacket[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `(SELECT 'order' AS kind, signal_key AS signalKey, trader_id AS traderId, instrument, action, side, qty, status, fill_price AS price, fee, error_code AS reason, NULL AS detail, created_ms AS createdMs
          FROM copy_order WHERE copier_id=? ORDER BY created_ms DESC LIMIT ?)
       UNION ALL
       (SELECT 'skip', signal_key, trader_id, NULL, NULL, NULL, NULL, 'SKIPPED', NULL, NULL, reason, detail, created_ms
          FROM copy_skip WHERE copier_id=? ORDER BY created_ms DESC LIMIT ?)
       ORDER BY createdMs DESC LIMIT ?`,
      [copierId, limit, copierId, limit, limit],
    );
    return rows;
  }
}

const trim = (v: string): string => (v.includes('.') ? v.replace(/\.?0+$/, '') : v) || '0';
const belowMin = (margin: string, min: string): boolean => money(margin).lt(money(min));

/**
 * A private lead is followed anew only with a valid invite code, one use of it taken per new
 * follow (a copier replacing the settings of its follow, active or paused, uses none).
 */
async function admitByInvite(
  conn: PoolConnection,
  copierId: string,
  traderId: string,
  code: string | undefined,
  now: number,
): Promise<void> {
  const [[current]] = await conn.query<RowDataPacket[]>(
    "SELECT 1 FROM copy_follow WHERE copier_id=? AND trader_id=? AND status<>'stopped'",
    [copierId, traderId],
  );
  if (current) return;
  if (code === undefined || code === '') {
    throw new HttpError(
      403,
      'INVITE_REQUIRED',
      `${traderId}'s program is private: follow with an inviteCode`,
    );
  }
  const [[invite]] = await conn.query<RowDataPacket[]>(
    'SELECT remaining, expires_ms FROM copy_invite WHERE code=? AND trader_id=? FOR UPDATE',
    [code, traderId],
  );
  if (!invite) throw new HttpError(403, 'INVITE_INVALID', `no such invite code for ${traderId}`);
  if (Number(invite.expires_ms) <= now)
    throw new HttpError(403, 'INVITE_EXPIRED', 'the invite code has expired');
  if (Number(invite.remaining) <= 0)
    throw new HttpError(403, 'INVITE_USED_UP', 'the invite code has no uses left');
  await conn.query('UPDATE copy_invite SET remaining=remaining-1 WHERE code=?', [code]);
}

function parse(body: unknown): FollowSettings {
  try {
    return parseFollowSettings(body);
  } catch (err) {
    if (err instanceof SettingsError) throw new HttpError(422, 'INVALID_SETTINGS', err.message);
    throw err;
  }
}

/** A new or replaced follow is active unless the body says paused. */
function statusOf(body: unknown): FollowStatus {
  const s = (body as { status?: unknown } | null)?.status;
  return s === 'paused' ? 'paused' : 'active';
}
