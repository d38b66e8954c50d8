import { amountAt, instrumentAt, objectAt, onlyKeys } from './fields.js';
import { fx } from './fixed.js';
import { SettingsError } from './settings-error.js';

/**
 * The exchange's rules for one instrument. Quantities in copy trading are in contracts; a
 * contract is `contractSize` of the base asset (BTC-USDT-SWAP: 0.01 BTC), so a position of
 * q contracts at price p is worth q × contractSize × p USDT. Orders must be a multiple of
 * `qtyStep`, at least `minQty`; prices a multiple of `tickSize`. One order carries at most
 * `maxQty` (a larger copy is split, order-split.ts); an exchange that publishes none: no limit.
 */
export interface InstrumentRules {
  instrument: string;
  /** base asset per contract */
  contractSize: string;
  minQty: string;
  qtyStep: string;
  tickSize: string;
  /** the exchange's per-order maximum, in contracts; absent: none known */
  maxQty?: string;
}

const KEYS = ['instrument', 'contractSize', 'minQty', 'qtyStep', 'tickSize', 'maxQty'] as const;

/** Rules from untrusted JSON (the exchange's instrument list, an admin call). */
export function parseInstrumentRules(body: unknown): InstrumentRules {
  const o = objectAt(body, '');
  onlyKeys(o, KEYS, '');
  const rules: InstrumentRules = {
    instrument: instrumentAt(o, 'instrument', ''),
    contractSize: amountAt(o, 'contractSize', ''),
    minQty: amountAt(o, 'minQty', ''),
    qtyStep: amountAt(o, 'qtyStep', ''),
    tickSize: amountAt(o, 'tickSize', ''),
  };
  if (fx(rules.minQty) % fx(rules.qtyStep) !== 0n) {
    throw new SettingsError('minQty', `expected a multiple of qtyStep ${rules.qtyStep}`);
  }
  if (o.maxQty !== undefined) {
    rules.maxQty = amountAt(o, 'maxQty', '');
    if (fx(rules.maxQty) < fx(rules.minQty)) {
      throw new SettingsError('maxQty', `expected at least minQty ${rules.minQty}`);
    }
  }
  return Object.freeze(rules);
}
