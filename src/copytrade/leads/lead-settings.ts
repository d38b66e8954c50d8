import type { RowDataPacket } from 'mysql2/promise';
import { HttpError } from '../../infra/http.js';
import { inTransaction, type Pool } from '../../infra/mysql/client.js';
import { leadChanged } from '../copy-changes.js';
import {
  changedLeadSettings,
  describeChange,
  parseLeadSettingsChange,
} from '../domain/lead-settings-change.js';
import { parseLeadSettings } from '../domain/settings-parse.js';
import { invalid, type LeadDeps, levelRule, recordReview } from './lead-common.js';
import { type LeadView, lockLead, saveStanding, standingRow } from './lead-reviews.js';
import { isApproved, LEGACY_STANDING } from './lead-store.js';

/**
 * A lead's own terms, changed by the lead (the user whose id is its trader id) over the
 * copiers' API: its profit share (at most its level's cap), instruments, liquidation policy
 * and minimum copy amount. A suspended lead's terms are frozen. Each change is a
 * copy_lead_review row (action `settings`, actor the lead) and is announced, so the running
 * engine's next close accrues at the new ratio.
 */

export async function leadSettings(pool: Pool, traderId: string): Promise<LeadView> {
  const [[r]] = await pool.query<RowDataPacket[]>(
    `SELECT t.settings, t.updated_ms, s.status, s.level, s.visibility, s.min_copy_amount
       FROM copy_trader t LEFT JOIN copy_lead_status s ON s.trader_id = t.trader_id WHERE t.trader_id=?`,
    [traderId],
  );
  if (!r) throw new HttpError(404, 'NOT_A_LEAD', `${traderId} does not lead`);
  return {
    traderId,
    settings: parseLeadSettings(JSON.parse(r.settings)),
    standing: r.status === null ? LEGACY_STANDING : standingRow(r),
    updatedMs: Number(r.updated_ms),
  };
}

export async function changeLeadSettings(deps: LeadDeps, traderId: string, body: unknown): Promise<LeadView> {
  const change = invalid('INVALID_SETTINGS', () => parseLeadSettingsChange(body));
  const now = (deps.now ?? Date.now)();
  const view = await inTransaction(deps.pool, async (conn) => {
    const lead = await lockLead(conn, traderId, 'NOT_A_LEAD');
    if (!isApproved(lead.standing)) {
      throw new HttpError(
        409,
        lead.standing.status === 'suspended' ? 'LEAD_SUSPENDED' : 'NOT_APPROVED',
        `${traderId} is ${lead.standing.status}: its settings change only once an operator resumes it`,
      );
    }
    const next = changedLeadSettings(lead.settings, change, levelRule(deps.levels, lead.standing.level));
    if ('ratioAboveLevel' in next) {
      throw new HttpError(422, 'RATIO_ABOVE_LEVEL', `profitShareRatio: ${next.ratioAboveLevel}`);
    }
    const settings = parseLeadSettings(next);
    const standing = { ...lead.standing, minCopyAmount: change.minCopyAmount ?? lead.standing.minCopyAmount };
    await conn.query('UPDATE copy_trader SET settings=?, updated_ms=? WHERE trader_id=?', [
      JSON.stringify(settings),
      now,
      traderId,
    ]);
    if (change.minCopyAmount !== undefined) await saveStanding(conn, traderId, standing, now);
    const reason = describeChange(lead.settings, settings, {
      from: lead.standing.minCopyAmount,
      to: standing.minCopyAmount,
    });
    await recordReview(conn, { traderId, action: 'settings', reason, actor: traderId, atMs: now });
    return { traderId, settings, standing, updatedMs: now };
  });
  await deps.publish(leadChanged(traderId));
  return view;
}
