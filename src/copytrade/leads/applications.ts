import { randomBytes } from 'node:crypto';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { HttpError } from '../../infra/http.js';
import { inTransaction, type Pool } from '../../infra/mysql/client.js';
import { encryptSecret } from '../accounts/secrets.js';
import { leadChanged } from '../copy-changes.js';
import type { Eligibility, EligibilityThresholds } from '../domain/eligibility.js';
import {
  type ApplicationStatus,
  failedCriteria,
  type InviteTerms,
  type LeadApplicationRequest,
  leadSettingsOf,
  parseLeadApplication,
  ratioProblem,
} from '../domain/lead-application.js';
import { parseLeadSettings } from '../domain/settings-parse.js';
import { checkEligibility, type HistoryExchange } from './eligibility-check.js';
import { invalid, type LeadDeps, levelRule, reasonOf, recordReview } from './lead-common.js';

/**
 * Applications to lead (copy_lead_application): a user applies, eligibility is computed
 * from its exchange history at that moment and stored with every criterion; an eligible
 * application waits for an operator (pending), an ineligible one is recorded as such with
 * the criteria that failed. Approval makes the user a lead at level 1: its copy_trader row
 * (API key and signing secret, the secret returned once and stored encrypted), its
 * standing (copy_lead_status), an invite code for a private program; each decision is a
 * copy_lead_review row, and each change of a lead is announced so the engine reloads it.
 */

export interface ApplyDeps extends LeadDeps {
  exchange: HistoryExchange;
  thresholds: EligibilityThresholds;
}

export interface ApprovalDeps extends LeadDeps {
  /** TF_SECRET_KEY */
  secretKey: Buffer;
}

export interface ApplicationView {
  applicationId: string;
  userId: string;
  status: ApplicationStatus;
  request: LeadApplicationRequest;
  eligibility: Eligibility;
  reason: string | null;
  createdMs: number;
  decidedMs: number | null;
}

export interface InviteView {
  code: string;
  traderId: string;
  remaining: number;
  expiresMs: number;
}

export interface Approval {
  application: ApplicationView;
  traderId: string;
  level: number;
  /** shown once: MySQL keeps the secret only encrypted; null when the lead already had credentials (kept) */
  credentials: { apiKey: string; secret: string } | null;
  invite: InviteView | null;
}

const STATUSES: readonly ApplicationStatus[] = ['pending', 'ineligible', 'approved', 'rejected'];

export function applicationStatusOf(value: string | null): ApplicationStatus | null {
  if (value === null) return null;
  if (!(STATUSES as readonly string[]).includes(value)) {
    throw new HttpError(400, 'BAD_REQUEST', `status: expected one of ${STATUSES.join(', ')}, got "${value}"`);
  }
  return value as ApplicationStatus;
}

const viewOf = (r: RowDataPacket): ApplicationView => ({
  applicationId: r.application_id,
  userId: r.user_id,
  status: r.status,
  request: JSON.parse(r.request),
  eligibility: JSON.parse(r.eligibility),
  reason: r.reason ?? null,
  createdMs: Number(r.created_ms),
  decidedMs: r.decided_ms === null ? null : Number(r.decided_ms),
});

const newId = (prefix: string, bytes: number) => `${prefix}${randomBytes(bytes).toString('hex')}`;

/** A user's application: refused (4xx) if malformed or one is open, else recorded pending or ineligible. */
export async function apply(deps: ApplyDeps, userId: string, body: unknown): Promise<ApplicationView> {
  const now = (deps.now ?? Date.now)();
  const request = invalid('INVALID_APPLICATION', () => parseLeadApplication(body));
  const first = levelRule(deps.levels, Math.min(...deps.levels.map((l) => l.level)));
  const tooHigh = ratioProblem(request.profitShareRatio, first);
  if (tooHigh) throw new HttpError(422, 'RATIO_ABOVE_LEVEL', `profitShareRatio: ${tooHigh}`);
  const [[user]] = await deps.pool.query<RowDataPacket[]>(
    'SELECT account_id FROM copy_copier WHERE copier_id=?',
    [userId],
  );
  if (!user) throw new HttpError(404, 'NO_SUCH_USER', `no user ${userId}`);
  await refuseOpen(deps.pool, userId);
  const found = await checkEligibility(deps.exchange, user.account_id, deps.thresholds, now);
  const view: ApplicationView = {
    applicationId: newId('app-', 8),
    userId,
    status: found.eligible ? 'pending' : 'ineligible',
    request,
    eligibility: found,
    reason: found.eligible ? null : `not eligible: ${failedCriteria(found.criteria)}`,
    createdMs: now,
    decidedMs: found.eligible ? null : now,
  };
  await deps.pool.query(
    'INSERT INTO copy_lead_application (application_id, user_id, request, eligibility, eligible, status, reason, created_ms, decided_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      view.applicationId,
      userId,
      JSON.stringify(request),
      JSON.stringify(found),
      found.eligible,
      view.status,
      view.reason,
      now,
      view.decidedMs,
    ],
  );
  await deps.notices?.application(userId, {
    applicationId: view.applicationId,
    status: view.status,
    ...(view.reason === null ? {} : { reason: view.reason }),
    ...(found.eligible ? {} : { failing: found.criteria.filter((c) => !c.passed).map((c) => c.name) }),
  });
  return view;
}

/** A user who leads already, or has an application waiting, may not apply again. */
async function refuseOpen(pool: Pool, userId: string): Promise<void> {
  const [[lead]] = await pool.query<RowDataPacket[]>('SELECT 1 FROM copy_trader WHERE trader_id=?', [userId]);
  if (lead) throw new HttpError(409, 'ALREADY_LEAD', `${userId} leads already`);
  const [[open]] = await pool.query<RowDataPacket[]>(
    "SELECT application_id FROM copy_lead_application WHERE user_id=? AND status='pending' LIMIT 1",
    [userId],
  );
  if (open)
    throw new HttpError(
      409,
      'APPLICATION_PENDING',
      `application ${open.application_id} is waiting for review`,
    );
}

export async function listApplications(
  pool: Pool,
  filter: { userId?: string; status?: ApplicationStatus | null; limit?: number },
): Promise<ApplicationView[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (filter.userId !== undefined) {
    where.push('user_id=?');
    args.push(filter.userId);
  }
  if (filter.status) {
    where.push('status=?');
    args.push(filter.status);
  }
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT * FROM copy_lead_application ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_ms DESC, application_id LIMIT ?`,
    [...args, filter.limit ?? 500],
  );
  return rows.map(viewOf);
}

export async function getApplication(pool: Pool, applicationId: string): Promise<ApplicationView> {
  const [[row]] = await pool.query<RowDataPacket[]>(
    'SELECT * FROM copy_lead_application WHERE application_id=?',
    [applicationId],
  );
  if (!row) throw new HttpError(404, 'NO_SUCH_APPLICATION', `no application ${applicationId}`);
  return viewOf(row);
}

/** The pending application, locked; 404 or 409 NOT_PENDING otherwise. */
async function pendingForUpdate(conn: PoolConnection, applicationId: string): Promise<ApplicationView> {
  const [[row]] = await conn.query<RowDataPacket[]>(
    'SELECT * FROM copy_lead_application WHERE application_id=? FOR UPDATE',
    [applicationId],
  );
  if (!row) throw new HttpError(404, 'NO_SUCH_APPLICATION', `no application ${applicationId}`);
  const view = viewOf(row);
  if (view.status !== 'pending') {
    throw new HttpError(409, 'NOT_PENDING', `application ${applicationId} is ${view.status}, not pending`);
  }
  return view;
}

export async function createInvite(
  conn: Pool | PoolConnection,
  traderId: string,
  terms: InviteTerms,
  now: number,
): Promise<InviteView> {
  const invite = {
    code: newId('inv-', 10),
    traderId,
    remaining: terms.uses,
    expiresMs: now + terms.expiresInDays * 86_400_000,
  };
  await conn.query(
    'INSERT INTO copy_invite (code, trader_id, remaining, expires_ms, created_ms) VALUES (?, ?, ?, ?, ?)',
    [invite.code, traderId, invite.remaining, invite.expiresMs, now],
  );
  return invite;
}

export async function approve(
  deps: ApprovalDeps,
  applicationId: string,
  reasonText: unknown,
  actor: string,
): Promise<Approval> {
  const reason = reasonOf(reasonText);
  const now = (deps.now ?? Date.now)();
  const first = levelRule(deps.levels, Math.min(...deps.levels.map((l) => l.level)));
  const result = await inTransaction(deps.pool, async (conn) => {
    const app = await pendingForUpdate(conn, applicationId);
    const traderId = app.userId;
    const settings = invalid('RATIO_ABOVE_LEVEL', () =>
      parseLeadSettings(leadSettingsOf(traderId, app.request, first)),
    );
    const [[had]] = await conn.query<RowDataPacket[]>(
      'SELECT secret_enc IS NOT NULL AS has_secret FROM copy_trader WHERE trader_id=? FOR UPDATE',
      [traderId],
    );
    let credentials: Approval['credentials'] = null;
    if (had && Number(had.has_secret) === 1) {
      // credentials of its own already (the accounts' rotation): kept, only the settings change
      await conn.query('UPDATE copy_trader SET settings=?, updated_ms=? WHERE trader_id=?', [
        JSON.stringify(settings),
        now,
        traderId,
      ]);
    } else {
      credentials = { apiKey: newId('lk-', 12), secret: randomBytes(24).toString('base64url') };
      await conn.query(
        'INSERT INTO copy_trader (trader_id, api_key, secret_enc, settings, updated_ms) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE api_key=VALUES(api_key), secret_enc=VALUES(secret_enc), settings=VALUES(settings), updated_ms=VALUES(updated_ms)',
        [
          traderId,
          credentials.apiKey,
          encryptSecret(credentials.secret, deps.secretKey),
          JSON.stringify(settings),
          now,
        ],
      );
    }
    await conn.query(
      `INSERT INTO copy_lead_status (trader_id, status, level, visibility, min_copy_amount, approved_ms, updated_ms)
       VALUES (?, 'approved', ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE status='approved', level=VALUES(level), visibility=VALUES(visibility), min_copy_amount=VALUES(min_copy_amount), approved_ms=VALUES(approved_ms), updated_ms=VALUES(updated_ms)`,
      [traderId, first.level, app.request.visibility, app.request.minCopyAmount, now, now],
    );
    await conn.query(
      "UPDATE copy_lead_application SET status='approved', reason=?, decided_ms=? WHERE application_id=?",
      [reason, now, applicationId],
    );
    await recordReview(conn, { traderId, applicationId, action: 'approve', reason, actor, atMs: now });
    const invite = app.request.invite ? await createInvite(conn, traderId, app.request.invite, now) : null;
    return {
      application: { ...app, status: 'approved' as const, reason, decidedMs: now },
      traderId,
      level: first.level,
      credentials,
      invite,
    };
  });
  await deps.publish(leadChanged(result.traderId));
  await deps.notices?.application(result.traderId, { applicationId, status: 'approved', reason });
  return result;
}

export async function reject(
  deps: LeadDeps,
  applicationId: string,
  reasonText: unknown,
  actor: string,
): Promise<ApplicationView> {
  const reason = reasonOf(reasonText);
  const now = (deps.now ?? Date.now)();
  const rejected = await inTransaction(deps.pool, async (conn) => {
    const app = await pendingForUpdate(conn, applicationId);
    await conn.query(
      "UPDATE copy_lead_application SET status='rejected', reason=?, decided_ms=? WHERE application_id=?",
      [reason, now, applicationId],
    );
    await recordReview(conn, {
      traderId: app.userId,
      applicationId,
      action: 'reject',
      reason,
      actor,
      atMs: now,
    });
    return { ...app, status: 'rejected' as const, reason, decidedMs: now };
  });
  await deps.notices?.application(rejected.userId, { applicationId, status: 'rejected', reason });
  return rejected;
}
