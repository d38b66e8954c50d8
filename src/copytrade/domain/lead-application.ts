import { isDecimalString, money } from '../../domain/money.js';
import type { LevelRule } from './eligibility.js';
import {
  instrumentsAt,
  intAt,
  type JsonObject,
  join,
  objectAt,
  oneOfAt,
  onlyKeys,
  ratioAt,
} from './fields.js';
import {
  type LeadSettings,
  type LeadSignalSource,
  type LiquidationPolicy,
  MAX_PROFIT_SHARE_RATIO,
} from './settings.js';
import { SettingsError } from './settings-error.js';

/**
 * What a user asks for when it applies to lead, from untrusted JSON, and what an approval
 * makes of it. Pure; the first fault throws a SettingsError naming the field.
 *
 *   { "instruments": ["BTC-USDT-SWAP"], "profitShareRatio": "0.1", "visibility": "public",
 *     "minCopyAmount": "50", "signalSource": "frames" }
 *
 * A private program adds `"invite": {"uses": 20, "expiresInDays": 30}`: the invite code made
 * at approval admits that many new follows until it expires. `onLiquidation` may be given
 * ("close", the default, or "keep").
 */

export type LeadVisibility = 'public' | 'private';

export interface InviteTerms {
  /** new follows the code admits */
  uses: number;
  expiresInDays: number;
}

export interface LeadApplicationRequest {
  instruments: readonly string[];
  profitShareRatio: string;
  visibility: LeadVisibility;
  /** USDT: the least margin a copier's fixed-amount follow may put into one open; "0": none */
  minCopyAmount: string;
  signalSource: LeadSignalSource;
  onLiquidation: LiquidationPolicy;
  /** private programs only */
  invite?: InviteTerms;
}

export type ApplicationStatus = 'pending' | 'ineligible' | 'approved' | 'rejected';

const KEYS = [
  'instruments',
  'profitShareRatio',
  'visibility',
  'minCopyAmount',
  'signalSource',
  'onLiquidation',
  'invite',
] as const;

export const MAX_INVITE_USES = 100_000;
export const MAX_INVITE_DAYS = 3650;

export function parseInviteTerms(value: unknown, field: string): InviteTerms {
  const o = objectAt(value, field);
  onlyKeys(o, ['uses', 'expiresInDays'], field);
  return Object.freeze({
    uses: intAt(o, 'uses', field, 1, MAX_INVITE_USES),
    expiresInDays: intAt(o, 'expiresInDays', field, 1, MAX_INVITE_DAYS),
  });
}

/** USDT, 0 or more, canonical. */
export function minCopyAmountAt(o: JsonObject): string {
  const min = o.minCopyAmount;
  if (!isDecimalString(min) || money(min).isNeg()) {
    throw new SettingsError('minCopyAmount', 'expected a decimal string of USDT, 0 or more, like "50"');
  }
  return money(min).toFixed();
}

export function parseLeadApplication(body: unknown): LeadApplicationRequest {
  const o = objectAt(body, '');
  onlyKeys(o, KEYS, '');
  const visibility = oneOfAt(o, 'visibility', '', ['public', 'private'] as const);
  const request: LeadApplicationRequest = {
    instruments: instrumentsAt(o, 'instruments', ''),
    profitShareRatio: ratioAt(o, 'profitShareRatio', '', { min: '0', max: MAX_PROFIT_SHARE_RATIO }),
    visibility,
    minCopyAmount: minCopyAmountAt(o),
    signalSource: oneOfAt(o, 'signalSource', '', ['frames', 'fills'] as const),
    onLiquidation:
      o.onLiquidation === undefined ? 'close' : oneOfAt(o, 'onLiquidation', '', ['close', 'keep'] as const),
  };
  if (visibility === 'private') {
    if (o.invite === undefined) {
      throw new SettingsError('invite', 'a private program needs {"uses": N, "expiresInDays": D}');
    }
    request.invite = parseInviteTerms(o.invite, 'invite');
  } else if (o.invite !== undefined) {
    throw new SettingsError('invite', 'only a private program has invite codes');
  }
  return Object.freeze(request);
}

/** The level's share cap, or null when the ratio is within it. */
export function ratioProblem(ratio: string, rule: LevelRule): string | null {
  return money(ratio).gt(rule.profitShareRatio)
    ? `level ${rule.level} allows a profit share of at most ${rule.profitShareRatio}, asked ${ratio}`
    : null;
}

/** The lead settings an approval at `rule`'s level gives the applicant. */
export function leadSettingsOf(
  traderId: string,
  request: LeadApplicationRequest,
  rule: LevelRule,
): LeadSettings {
  const problem = ratioProblem(request.profitShareRatio, rule);
  if (problem) throw new SettingsError(join('', 'profitShareRatio'), problem);
  return Object.freeze({
    traderId,
    instruments: request.instruments,
    maxCopiers: rule.maxCopiers,
    profitShareRatio: request.profitShareRatio,
    onLiquidation: request.onLiquidation,
    signalSource: request.signalSource,
  });
}

/** A lead's settings at a new level: its copier cap, and its ratio cut to the level's cap if above. */
export function settingsAtLevel(lead: LeadSettings, rule: LevelRule): LeadSettings {
  const ratio = money(lead.profitShareRatio).gt(rule.profitShareRatio)
    ? money(rule.profitShareRatio).toFixed()
    : lead.profitShareRatio;
  return Object.freeze({ ...lead, maxCopiers: rule.maxCopiers, profitShareRatio: ratio });
}

/** "daysSinceFirstTrade 12 < 30; tradingBalance 100 < 500": the criteria that failed, for people. */
export function failedCriteria(
  criteria: readonly {
    name: string;
    value: string;
    threshold: string;
    comparison: string;
    passed: boolean;
  }[],
): string {
  return criteria
    .filter((c) => !c.passed)
    .map((c) => `${c.name} ${c.value} ${c.comparison === '>=' ? '<' : '>'} ${c.threshold}`)
    .join('; ');
}
