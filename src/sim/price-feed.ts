import type { Asset } from '../clients/wire.js';
import { Money } from '../domain/money.js';

/** Prices quoted to the cent, as a spot venue would. */
const PRICE_DP = 2;
/** largest move per tick, relative: ±0.1% */
const MAX_STEP = new Money('0.001');
const TICK_MS = 100;
const START: Record<Asset, string> = { BTC: '60000', ETH: '3000' };

/**
 * The next price of a random walk, for a uniform draw u in [0, 1): a relative step of at most
 * ±MAX_STEP, rounded down to the cent. A step that would reach zero or below is not taken.
 */
export function nextPrice(price: Money, u: number): Money {
  const step = new Money((2 * u - 1).toFixed(6)).times(MAX_STEP);
  const next = price.times(step.plus(1)).toDecimalPlaces(PRICE_DP, Money.ROUND_DOWN);
  return next.isPositive() && !next.isZero() ? next : price;
}

export interface PriceFeed {
  price(asset: Asset): Money;
  /**
   * moves the price to `price` at once; the walk goes on from there (a test's market move),
   * or, with `hold`, stays until the next set (a test that computes fills by hand)
   */
  set(asset: Asset, price: Money, hold?: boolean): void;
  stop(): void;
}

/** Walks every asset's price each TICK_MS until stopped; does not keep the process alive. */
export function startPriceFeed(random: () => number = Math.random): PriceFeed {
  const prices: Record<Asset, Money> = { BTC: new Money(START.BTC), ETH: new Money(START.ETH) };
  const held = new Set<Asset>();
  const timer = setInterval(() => {
    if (!held.has('BTC')) prices.BTC = nextPrice(prices.BTC, random());
    if (!held.has('ETH')) prices.ETH = nextPrice(prices.ETH, random());
  }, TICK_MS);
  timer.unref();
  return {
    price: (asset) => prices[asset],
    set: (asset, price, hold = false) => {
      prices[asset] = price;
      if (hold) held.add(asset);
      else held.delete(asset);
    },
    stop: () => clearInterval(timer),
  };
}
