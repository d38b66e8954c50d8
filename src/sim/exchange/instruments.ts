import type { InstrumentId, InstrumentSpec, OrderSide } from '../../clients/exchange-wire.js';
import { divRound, formatUnits, isMultiple, parseUnits, type Units } from './fixed.js';

/**
 * The simulated exchange's instruments: USDT-margined perpetual swaps with OKX-like rules.
 * Exported as plain data so that sizing code can apply the same rules (min quantity, step).
 */
export const INSTRUMENTS: Readonly<Record<InstrumentId, Readonly<InstrumentSpec>>> = Object.freeze({
  'BTC-USDT-SWAP': Object.freeze({
    instrument: 'BTC-USDT-SWAP',
    asset: 'BTC',
    settleCurrency: 'USDT',
    contractSize: '0.01',
    minQty: '0.01',
    qtyStep: '0.01',
    tickSize: '0.1',
    maxQty: '10000',
    maxLeverage: 125,
  }),
  'ETH-USDT-SWAP': Object.freeze({
    instrument: 'ETH-USDT-SWAP',
    asset: 'ETH',
    settleCurrency: 'USDT',
    contractSize: '0.1',
    minQty: '0.01',
    qtyStep: '0.01',
    tickSize: '0.01',
    maxQty: '10000',
    maxLeverage: 100,
  }),
});

/** An instrument's rules in units (fixed.ts), parsed once. */
export interface InstrumentRules {
  readonly spec: Readonly<InstrumentSpec>;
  readonly contractSize: Units;
  readonly minQty: Units;
  readonly qtyStep: Units;
  readonly tickSize: Units;
  readonly maxQty: Units;
}

const units = (text: string): Units => {
  const u = parseUnits(text);
  if (u === undefined || u <= 0n)
    throw new Error(`instrument rule ${text}: expected a positive amount of at most 8 places`);
  return u;
};

export const RULES: Readonly<Record<InstrumentId, InstrumentRules>> = Object.freeze(
  Object.fromEntries(
    Object.values(INSTRUMENTS).map((spec) => [
      spec.instrument,
      Object.freeze({
        spec,
        contractSize: units(spec.contractSize),
        minQty: units(spec.minQty),
        qtyStep: units(spec.qtyStep),
        tickSize: units(spec.tickSize),
        maxQty: units(spec.maxQty),
      }),
    ]),
  ) as Record<InstrumentId, InstrumentRules>,
);

/** Why `qty` (units) is more than one order may carry (`maxQty`: the instrument's, or a test's lower one), or undefined. */
export function qtyAboveMax(maxQty: Units, qty: Units, text: string): string | undefined {
  return qty > maxQty ? `qty ${text} is above the per-order maximum ${formatUnits(maxQty)}` : undefined;
}

/** Why `qty` (units; null: finer than 8 places) is not a valid order quantity, or undefined if it is. */
export function qtyProblem(rules: InstrumentRules, qty: Units | null, text: string): string | undefined {
  if (qty === null || !isMultiple(qty, rules.qtyStep)) {
    return `qty ${text} is not a multiple of the step ${rules.spec.qtyStep}`;
  }
  if (qty < rules.minQty) return `qty ${text} is below the minimum ${rules.spec.minQty}`;
  return undefined;
}

const BPS = 10_000n;

/**
 * The price a market order fills at: the feed price moved `slippageBps` against the taker
 * (up for a buy, down for a sell), then onto the tick, again against the taker.
 */
export function fillPrice(rules: InstrumentRules, feed: Units, side: OrderSide, slippageBps: number): Units {
  const slip = BigInt(slippageBps);
  const per = BPS * rules.tickSize;
  const ticks =
    side === 'buy' ? divRound(feed * (BPS + slip), per, 'ceil') : divRound(feed * (BPS - slip), per, 'floor');
  return ticks * rules.tickSize;
}
