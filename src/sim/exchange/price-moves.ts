import type { InstrumentId } from '../../clients/exchange-wire.js';
import type { Money } from '../../domain/money.js';

/**
 * Price moves armed by a test to happen at the next order on an instrument (of one account, or
 * of any), just before the exchange decides it: the deterministic "the price moved between
 * sizing and fill", which a move set by a separate call can only race. Each fires once.
 */

export interface PriceMove {
  instrument: InstrumentId;
  /** the feed price to move to */
  price: Money;
  /** only an order of this account fires it; undefined: the next order of any account */
  account: string | undefined;
  /** stop the random walk there (as /admin/price `hold`) */
  hold: boolean;
}

export class PriceMoves {
  #armed: PriceMove[] = [];

  arm(move: PriceMove): void {
    // one move per (instrument, account): arming again replaces it
    this.#armed = this.#armed.filter((m) => m.instrument !== move.instrument || m.account !== move.account);
    this.#armed.push(move);
  }

  /** The move an order of `account` on `instrument` fires, removed; undefined if none (the common case, O(1)). */
  take(instrument: InstrumentId, account: string): PriceMove | undefined {
    if (this.#armed.length === 0) return undefined;
    const i = this.#armed.findIndex(
      (m) => m.instrument === instrument && (m.account === undefined || m.account === account),
    );
    if (i < 0) return undefined;
    const [move] = this.#armed.splice(i, 1);
    return move;
  }

  get armed(): readonly PriceMove[] {
    return this.#armed;
  }
}
