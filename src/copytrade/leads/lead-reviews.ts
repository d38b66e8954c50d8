import { Decimal } from 'decimal.js';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { money } from '../../domain/money.js';
import { HttpError } from '../../infra/http.js';
import { inTransaction, type Pool } from '../../infra/mysql/client.js';
import { leadChanged } from '../copy-changes.js';
import { levelOf } from '../domain/eligibility.js';
import { parseInviteTerms, settingsAtLevel } from '../domain/lead-application.js';
import { DAY_MS } from '../domain/nav.js';
import type { LeadSettings } from '../domain/settings.js';
import { parseLeadSettings } from '../domain/settings-parse.js';
import { type ApplicationView, createInvite, type InviteView, listApplications } from './applications.js';
import { invalid, type LeadDeps, levelRule, reasonOf, recordReview, trimDecimal } from './lead-common.js';
import { LEGACY_STANDING, type LeadStanding } from './lead-store.js';

/**
 * An operator's decisions on leads once approved: suspend (its signals are skipped for every
 * copier), resume, set its level (copier cap and share cap), invite codes of a private
 * program; and `recomputeLevels`, each lead's level from its days (copy_lead_day) by
 * levelOf. Every decision is a copy_lead_review row with its reason, and is announced.
 */

export interface LeadView {
  traderId: string;
  settings: LeadSettings;
  standing: LeadStanding;
  updatedMs: number;
}

export interface Locked {
  settings: LeadSettings;
  standing: LeadStanding;
  /** the lead has a standing row (else LEGACY_STANDING) */
  hasRow: boolean;
}

/** The lead's rows, locked; 404 `notLead` (the operator's NO_SUCH_LEAD, the lead's own NOT_A_LEAD) when it does not lead. */
export async function lockLead(
  conn: PoolConnection,
  traderId: string,
  notLead = 'NO_SUCH_LEAD',
): Promise<Locked> {
  const [[t]] = await conn.query<RowDataPacket[]>(
    'SELECT settings FROM copy_trader WHERE trader_id=? FOR UPDATE',
    [traderId],
  );
  if (!t) throw new HttpError(404, notLead, `${traderId} does not lead`);
  const [[s]] = await conn.query<RowDataPacket[]>(
    'SELECT * FROM copy_lead_status WHERE trader_id=? FOR UPDATE',
    [traderId],
  );
  return {
    settings: parseLeadSettings(JSON.parse(t.settings)),
    standing: s ? standingRow(s) : LEGACY_STANDING,
    hasRow: !!s,
  };
}

export const standingRow = (s: RowDataPacket): LeadStanding => ({
  status: s.status,
  level: Number(s.level),
  visibility: s.visibility === 'private' ? 'private' : 'public',
  minCopyAmount: trimDecimal(String(s.min_copy_amount)),
});

/** Writes the standing (a legacy lead gets its row now). */
export async function saveStanding(
  conn: PoolConnection,
  traderId: string,
  s: LeadStanding,
  now: number,
): Promise<void> {
  await conn.query(
    `INSERT INTO copy_lead_status (trader_id, status, level, visibility, min_copy_amount, approved_ms, updated_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE status=VALUES(status), level=VALUES(level), visibility=VALUES(visibility), min_copy_amount=VALUES(min_copy_amount), updated_ms=VALUES(updated_ms)`,
    [traderId, s.status, s.level, s.visibility, s.minCopyAmount, now, now],
  );
}

async function changeStatus(
  deps: LeadDeps,
  traderId: string,
  to: 'suspended' | 'approved',
  reasonText: unknown,
  actor: string,
): Promise<LeadView> {
  const reason = reasonOf(reasonText);
  const now = (deps.now ?? Date.now)();
  const view = await inTransaction(deps.pool, async (conn) => {
    const lead = await lockLead(conn, traderId);
    const from = to === 'suspended' ? 'approved' : 'suspended';
    if (lead.standing.status !== from) {
      throw new HttpError(
        409,
        to === 'suspended' ? 'NOT_APPROVED' : 'NOT_SUSPENDED',
        `${traderId} is ${lead.standing.status}`,
      );
    }
    const standing = { ...lead.standing, status: to };
    await saveStanding(conn, traderId, standing, now);
    await recordReview(conn, {
      traderId,
      action: to === 'suspended' ? 'suspend' : 'resume',
      reason,
      actor,
      atMs: now,
    });
    return { traderId, settings: lead.settings, standing, updatedMs: now };
  });
  await deps.publish(leadChanged(traderId));
  await deps.notices?.standing(traderId, to === 'suspended' ? 'suspended' : 'resumed', reason, now);
  return view;
}

export const suspend = (deps: LeadDeps, traderId: string, reason: unknown, actor: string) =>
  changeStatus(deps, traderId, 'suspended', reason, actor);

export const resume = (deps: LeadDeps, traderId: string, reason: unknown, actor: string) =>
  changeStatus(deps, traderId, 'approved', reason, actor);

/** Puts the lead at `level`: its copier cap, and its ratio cut to the level's cap if above. */
async function applyLevel(
  conn: PoolConnection,
  deps: LeadDeps,
  traderId: string,
  lead: Locked,
  level: number,
  reason: string,
  actor: string,
  now: number,
): Promise<LeadView> {
  const rule = levelRule(deps.levels, level);
  const settings = settingsAtLevel(lead.settings, rule);
  const cut = settings.profitShareRatio !== lead.settings.profitShareRatio;
  await conn.query('UPDATE copy_trader SET settings=?, updated_ms=? WHERE trader_id=?', [
    JSON.stringify(parseLeadSettings(settings)),
    now,
    traderId,
  ]);
  const standing = { ...lead.standing, level };
  await saveStanding(conn, traderId, standing, now);
  const note = `L${lead.standing.level} → L${level}${cut ? `, share cut to ${settings.profitShareRatio}` : ''}: ${reason}`;
  await recordReview(conn, { traderId, action: 'level', reason: note, actor, atMs: now });
  return { traderId, settings, standing, updatedMs: now };
}

export async function setLevel(
  deps: LeadDeps,
  traderId: string,
  level: unknown,
  reasonText: unknown,
  actor: string,
): Promise<LeadView> {
  const reason = reasonOf(reasonText);
  if (typeof level !== 'number' || !Number.isInteger(level)) {
    throw new HttpError(400, 'BAD_REQUEST', 'level: expected an integer');
  }
  levelRule(deps.levels, level);
  const now = (deps.now ?? Date.now)();
  const view = await inTransaction(deps.pool, async (conn) =>
    applyLevel(conn, deps, traderId, await lockLead(conn, traderId), level, reason, actor, now),
  );
  await deps.publish(leadChanged(traderId));
  return view;
}

/** A new invite code of a private lead's program. */
export async function addInvite(deps: LeadDeps, traderId: string, body: unknown): Promise<InviteView> {
  const terms = invalid('INVALID_INVITE', () => parseInviteTerms(body, 'invite'));
  const now = (deps.now ?? Date.now)();
  return inTransaction(deps.pool, async (conn) => {
    const lead = await lockLead(conn, traderId);
    if (lead.standing.visibility !== 'private') {
      throw new HttpError(409, 'NOT_PRIVATE', `${traderId}'s program is public: it needs no invite code`);
    }
    return createInvite(conn, traderId, terms, now);
  });
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export interface LevelChange {
  traderId: string;
  from: number;
  to: number;
  averageAum90d: string;
}

/**
 * Each lead's level from its days: the 90-day average AUM over the days it has a row in
 * [today − 89, today], and its copiers on each of those days (a day without a row: 0). A
 * level that changes is applied and reviewed (action `level`, actor as given).
 */
export async function recomputeLevels(deps: LeadDeps, actor: string): Promise<LevelChange[]> {
  const now = (deps.now ?? Date.now)();
  const days = Array.from({ length: 90 }, (_, i) => dayOf(now - (89 - i) * DAY_MS));
  const [leads] = await deps.pool.query<RowDataPacket[]>(
    'SELECT trader_id FROM copy_trader ORDER BY trader_id',
  );
  const changes: LevelChange[] = [];
  for (const { trader_id: traderId } of leads) {
    const [rows] = await deps.pool.query<RowDataPacket[]>(
      'SELECT day, aum, copiers FROM copy_lead_day WHERE trader_id=? AND day>=? AND day<=?',
      [traderId, days[0], days[89]],
    );
    const byDay = new Map(rows.map((r) => [String(r.day), r]));
    const aum = rows.reduce((sum, r) => sum.plus(money(String(r.aum))), money(0));
    const averageAum90d =
      rows.length === 0 ? '0' : aum.div(rows.length).toDecimalPlaces(8, Decimal.ROUND_DOWN).toFixed();
    const dailyCopiers = days.map((d) => Number(byDay.get(d)?.copiers ?? 0));
    const to = levelOf({ averageAum90d, dailyCopiers }, deps.levels).level;
    const change = await inTransaction(deps.pool, async (conn) => {
      const lead = await lockLead(conn, traderId);
      if (lead.standing.level === to) return null;
      const reason = `recomputed: 90-day average AUM ${averageAum90d}, copiers ${dailyCopiers.slice(-7).join(',')} over the last 7 days`;
      await applyLevel(conn, deps, traderId, lead, to, reason, actor, now);
      return { traderId, from: lead.standing.level, to, averageAum90d };
    });
    if (change) {
      changes.push(change);
      await deps.publish(leadChanged(traderId));
    }
  }
  return changes;
}

export async function listLeads(pool: Pool): Promise<LeadView[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT t.trader_id, t.settings, t.updated_ms, s.status, s.level, s.visibility, s.min_copy_amount
       FROM copy_trader t LEFT JOIN copy_lead_status s ON s.trader_id = t.trader_id ORDER BY t.trader_id`,
  );
  return rows.map((r) => ({
    traderId: r.trader_id,
    settings: JSON.parse(r.settings),
    standing: r.status === null ? LEGACY_STANDING : standingRow(r),
    updatedMs: Number(r.updated_ms),
  }));
}

export interface LeadDetail extends LeadView {
  copiers: number;
  reviews: { action: string; reason: string; actor: string; atMs: number; applicationId: string | null }[];
  applications: ApplicationView[];
  invites: InviteView[];
}

export async function showLead(pool: Pool, traderId: string): Promise<LeadDetail> {
  const lead = (await listLeads(pool)).find((l) => l.traderId === traderId);
  if (!lead) throw new HttpError(404, 'NO_SUCH_LEAD', `${traderId} does not lead`);
  const [[n]] = await pool.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM copy_follow WHERE trader_id=? AND status<>'stopped'",
    [traderId],
  );
  const [reviews] = await pool.query<RowDataPacket[]>(
    'SELECT action, reason, actor, at_ms, application_id FROM copy_lead_review WHERE trader_id=? ORDER BY at_ms, review_id',
    [traderId],
  );
  const [invites] = await pool.query<RowDataPacket[]>(
    'SELECT code, remaining, expires_ms FROM copy_invite WHERE trader_id=? ORDER BY created_ms',
    [traderId],
  );
  return {
    ...lead,
    copiers: Number(n?.n ?? 0),
    reviews: reviews.map((r) => ({
      action: r.action,
      reason: r.reason,
      actor: r.actor,
      atMs: Number(r.at_ms),
      applicationId: r.application_id ?? null,
    })),
    applications: await listApplications(pool, { userId: traderId }),
    invites: invites.map((i) => ({
      code: i.code,
      traderId,
      remaining: Number(i.remaining),
      expiresMs: Number(i.expires_ms),
    })),
  };
}
