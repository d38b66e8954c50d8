import type { LevelRule } from './eligibility.js';
import { instrumentsAt, objectAt, oneOfAt, onlyKeys, ratioAt } from './fields.js';
import { minCopyAmountAt, ratioProblem } from './lead-application.js';
import { type LeadSettings, type LiquidationPolicy, MAX_PROFIT_SHARE_RATIO } from './settings.js';
import { SettingsError } from './settings-error.js';

/**
 * What a lead may change of its own terms (PUT /lead/settings), from untrusted JSON: any of
 *   { "profitShareRatio": "0.05", "instruments": ["BTC-USDT-SWAP"], "onLiquidation": "keep",
 *     "minCopyAmount": "20" }
 * Its copier cap, signal source and visibility are the operator's (levels, approval). Pure;
 * the first fault throws a SettingsError naming the field.
 */
export interface LeadSettingsChange {
  profitShareRatio?: string;
  instruments?: readonly string[];
  onLiquidation?: LiquidationPolicy;
  /** USDT, canonical; copy_lead_status, not the settings */
  minCopyAmount?: string;
}

const KEYS = ['profitShareRatio', 'instruments', 'onLiquidation', 'minCopyAmount'] as const;

export function parseLeadSettingsChange(body: unknown): LeadSettingsChange {
  const o = objectAt(body, '');
  onlyKeys(o, KEYS, '');
  if (Object.keys(o).length === 0) {
    throw new SettingsError('', `nothing to change: give any of ${KEYS.join(', ')}`);
  }
  const change: LeadSettingsChange = {};
  if (o.profitShareRatio !== undefined) {
    change.profitShareRatio = ratioAt(o, 'profitShareRatio', '', { min: '0', max: MAX_PROFIT_SHARE_RATIO });
  }
  if (o.instruments !== undefined) change.instruments = instrumentsAt(o, 'instruments', '');
  if (o.onLiquidation !== undefined) {
    change.onLiquidation = oneOfAt(o, 'onLiquidation', '', ['close', 'keep'] as const);
  }
  if (o.minCopyAmount !== undefined) change.minCopyAmount = minCopyAmountAt(o);
  return Object.freeze(change);
}

/** The lead's settings with `change` applied, or why its level refuses the ratio. */
export function changedLeadSettings(
  lead: LeadSettings,
  change: LeadSettingsChange,
  rule: LevelRule,
): LeadSettings | { ratioAboveLevel: string } {
  const ratio = change.profitShareRatio ?? lead.profitShareRatio;
  // only a ratio the lead asks for now is refused: one stored above a lowered cap is the level job's to cut
  const problem = change.profitShareRatio === undefined ? null : ratioProblem(ratio, rule);
  if (problem) return { ratioAboveLevel: problem };
  return Object.freeze({
    ...lead,
    profitShareRatio: ratio,
    instruments: change.instruments ?? lead.instruments,
    onLiquidation: change.onLiquidation ?? lead.onLiquidation,
  });
}

/** "profitShareRatio 0.1 → 0.05; minCopyAmount 0 → 20": what changed, for the audit trail. */
export function describeChange(
  before: LeadSettings,
  after: LeadSettings,
  minCopyAmount: { from: string; to: string },
): string {
  const parts: string[] = [];
  const diff = (name: string, from: string, to: string) => {
    if (from !== to) parts.push(`${name} ${from} → ${to}`);
  };
  diff('profitShareRatio', before.profitShareRatio, after.profitShareRatio);
  diff('instruments', before.instruments.join(','), after.instruments.join(','));
  diff('onLiquidation', before.onLiquidation, after.onLiquidation);
  diff('minCopyAmount', minCopyAmount.from, minCopyAmount.to);
  return parts.length === 0 ? 'unchanged' : parts.join('; ');
}
