import type { PoolConnection } from 'mysql2/promise';
import { HttpError } from '../../infra/http.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { PublishCopyChanges } from '../copy-changes.js';
import type { LevelRule } from '../domain/eligibility.js';
import { SettingsError } from '../domain/settings-error.js';
import type { LeadNotices } from '../notices/lead-notices.js';

/**
 * What the lead services (applications, reviews) share: their dependencies, the audit
 * trail's insert, and the reason every operator decision carries.
 */

export interface LeadDeps {
  pool: Pool;
  /** announces a lead's change (copy-changes.ts leadChanged): the running engine reloads it */
  publish: PublishCopyChanges;
  /** TF_LEAD_LEVELS */
  levels: readonly LevelRule[];
  now?: () => number;
  /** the applicant's, the lead's and its copiers' notices of each decision */
  notices?: LeadNotices;
}

/** copy_lead_review.action (varchar(12)); `settings`: a lead changed its own terms */
export type ReviewAction = 'approve' | 'reject' | 'suspend' | 'resume' | 'level' | 'settings';

export const MAX_REASON = 255;

/** An operator's reason: required, one line of at most 255 characters. */
export function reasonOf(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new HttpError(400, 'REASON_REQUIRED', 'a reason is required (the audit trail keeps it)');
  }
  const reason = value.trim();
  if (reason.length > MAX_REASON) {
    throw new HttpError(400, 'REASON_TOO_LONG', `a reason is at most ${MAX_REASON} characters`);
  }
  return reason;
}

export async function recordReview(
  conn: Pool | PoolConnection,
  r: {
    traderId: string;
    applicationId?: string | null;
    action: ReviewAction;
    reason: string;
    actor: string;
    atMs: number;
  },
): Promise<void> {
  await conn.query(
    'INSERT INTO copy_lead_review (trader_id, application_id, action, reason, actor, at_ms) VALUES (?, ?, ?, ?, ?, ?)',
    [
      r.traderId,
      r.applicationId ?? null,
      r.action,
      r.reason.slice(0, MAX_REASON),
      r.actor.slice(0, 64),
      r.atMs,
    ],
  );
}

export function levelRule(levels: readonly LevelRule[], level: number): LevelRule {
  const rule = levels.find((l) => l.level === level);
  if (!rule) {
    throw new HttpError(
      400,
      'NO_SUCH_LEVEL',
      `levels are ${levels.map((l) => l.level).join(', ')}; got ${level}`,
    );
  }
  return rule;
}

/** A domain parse's SettingsError as the 422 the caller sees; anything else as it is. */
export function invalid<T>(code: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof SettingsError) throw new HttpError(422, code, err.message);
    throw err;
  }
}

/** DECIMAL(36,18) comes back zero-padded. */
export const trimDecimal = (v: string): string => (v.includes('.') ? v.replace(/\.?0+$/, '') : v) || '0';
