import { money } from '../../domain/money.js';
import {
  amountAt,
  idAt,
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
  DEFAULT_MAX_COPIERS,
  DEFAULT_SIGNAL_SOURCE,
  type FollowAccount,
  type FollowSettings,
  type LeadSettings,
  MAX_COPIERS_LIMIT,
  MAX_MAX_SLIPPAGE,
  MAX_OWN_LEVERAGE,
  MAX_PROFIT_SHARE_RATIO,
  MIN_MAX_SLIPPAGE,
  type SizingMode,
} from './settings.js';
import { SettingsError } from './settings-error.js';

/**
 * Lead and follow settings from untrusted JSON (HTTP bodies). Every field is checked, unknown
 * fields are refused, decimals are normalised; the first fault throws a SettingsError naming
 * the field. Not on the hot path: settings change rarely and are cached by the fan-out.
 */

const LEAD_KEYS = [
  'traderId',
  'instruments',
  'maxCopiers',
  'profitShareRatio',
  'onLiquidation',
  'signalSource',
] as const;

export function parseLeadSettings(body: unknown): LeadSettings {
  const o = objectAt(body, '');
  onlyKeys(o, LEAD_KEYS, '');
  return Object.freeze({
    traderId: idAt(o, 'traderId', ''),
    instruments: instrumentsAt(o, 'instruments', ''),
    maxCopiers:
      o.maxCopiers === undefined ? DEFAULT_MAX_COPIERS : intAt(o, 'maxCopiers', '', 1, MAX_COPIERS_LIMIT),
    profitShareRatio: ratioAt(o, 'profitShareRatio', '', { min: '0', max: MAX_PROFIT_SHARE_RATIO }),
    onLiquidation: oneOfAt(o, 'onLiquidation', '', ['close', 'keep'] as const),
    signalSource:
      o.signalSource === undefined
        ? DEFAULT_SIGNAL_SOURCE
        : oneOfAt(o, 'signalSource', '', ['frames', 'fills'] as const),
  });
}

/** every field of a follow's settings */
export const FOLLOW_KEYS = [
  'copierId',
  'traderId',
  'account',
  'sizing',
  'leverage',
  'marginMode',
  'positionMode',
  'instruments',
  'maxPositionValue',
  'maxSlippage',
  'takeProfitRatio',
  'stopLossRatio',
  'copyFunds',
  'equityStopRatio',
  'dailyLossLimit',
  'onManualChange',
  'status',
] as const;

/**
 * Every field is required except maxSlippage, the stops (takeProfitRatio, stopLossRatio,
 * copyFunds, equityStopRatio, dailyLossLimit; an equityStopRatio needs copyFunds) and
 * onManualChange. The result
 * is deeply frozen: a follow is a value, replaced (not edited) when the copier changes it,
 * which lets sizing remember its parsed decimals.
 *
 * `stored`: the body is a follow read back from MySQL (the book's load), not a request. A
 * maxSlippage stored before its range was narrowed to MIN..MAX_MAX_SLIPPAGE is clamped into
 * it rather than refused: refusing would drop the follow from the book, and its closes with
 * it; clamping keeps the bound the engine promises (never wider than 3%).
 */
export function parseFollowSettings(body: unknown, opts: { stored?: boolean } = {}): FollowSettings {
  const o = objectAt(body, '');
  onlyKeys(o, FOLLOW_KEYS, '');
  const follow: FollowSettings = {
    copierId: idAt(o, 'copierId', ''),
    traderId: idAt(o, 'traderId', ''),
    account: parseAccount(o.account, 'account'),
    sizing: parseSizing(o.sizing, 'sizing'),
    leverage: parseLeverage(o.leverage),
    marginMode: oneOfAt(o, 'marginMode', '', ['cross', 'isolated'] as const),
    positionMode: oneOfAt(o, 'positionMode', '', ['one-way', 'hedge'] as const),
    instruments: instrumentsAt(o, 'instruments', ''),
    maxPositionValue: amountAt(o, 'maxPositionValue', ''),
    status: oneOfAt(o, 'status', '', ['active', 'paused', 'stopped'] as const),
  };
  if (o.maxSlippage !== undefined) follow.maxSlippage = parseMaxSlippage(o, opts.stored === true);
  if (o.takeProfitRatio !== undefined) {
    follow.takeProfitRatio = ratioAt(o, 'takeProfitRatio', '', { min: '0', max: '1000', minExclusive: true });
  }
  if (o.stopLossRatio !== undefined) {
    follow.stopLossRatio = ratioAt(o, 'stopLossRatio', '', { min: '0', max: '1', minExclusive: true });
  }
  if (o.copyFunds !== undefined) follow.copyFunds = amountAt(o, 'copyFunds', '');
  if (o.equityStopRatio !== undefined) {
    // a stop on equity needs the funds it is a share of
    if (follow.copyFunds === undefined) {
      throw new SettingsError('equityStopRatio', 'requires copyFunds (the USDT the stop is a share of)');
    }
    follow.equityStopRatio = ratioAt(o, 'equityStopRatio', '', { min: '0', max: '1', minExclusive: true });
  }
  if (o.dailyLossLimit !== undefined) follow.dailyLossLimit = amountAt(o, 'dailyLossLimit', '');
  if (o.onManualChange !== undefined) {
    follow.onManualChange = oneOfAt(o, 'onManualChange', '', ['adopt', 'detach'] as const);
  }
  return Object.freeze(follow);
}

function parseMaxSlippage(o: JsonObject, stored: boolean): string {
  const bounds = { min: MIN_MAX_SLIPPAGE, max: MAX_MAX_SLIPPAGE };
  if (!stored) return ratioAt(o, 'maxSlippage', '', bounds);
  // a stored value was valid under the old range (0..1): only its bounds are new
  const r = money(ratioAt(o, 'maxSlippage', '', { min: '0', max: '1' }));
  return (r.lt(bounds.min) ? money(bounds.min) : r.gt(bounds.max) ? money(bounds.max) : r).toFixed();
}

function parseAccount(value: unknown, field: string): FollowAccount {
  const o = objectAt(value, field);
  const type = oneOfAt(o, 'type', field, ['main', 'sub'] as const);
  if (type === 'main') {
    onlyKeys(o, ['type'], field);
    return Object.freeze({ type });
  }
  onlyKeys(o, ['type', 'subAccount'], field);
  return Object.freeze({ type, subAccount: idAt(o, 'subAccount', field) });
}

function parseSizing(value: unknown, field: string): SizingMode {
  const o = objectAt(value, field);
  const mode = oneOfAt(o, 'mode', field, ['fixed-amount', 'fixed-ratio'] as const);
  if (mode === 'fixed-amount') {
    onlyKeys(o, ['mode', 'margin'], field);
    return Object.freeze({ mode, margin: amountAt(o, 'margin', field) });
  }
  onlyKeys(o, ['mode', 'ratio'], field);
  return Object.freeze({ mode, ratio: amountAt(o, 'ratio', field) });
}

function parseLeverage(value: unknown): 'trader' | number {
  if (value === 'trader') return value;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_OWN_LEVERAGE) {
    return value;
  }
  throw new SettingsError(
    join('', 'leverage'),
    `expected "trader" or an integer from 1 to ${MAX_OWN_LEVERAGE}`,
  );
}
