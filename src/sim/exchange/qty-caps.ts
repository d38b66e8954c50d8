import { INSTRUMENT_IDS, type InstrumentId, type QtyCap } from '../../clients/exchange-wire.js';
import { formatUnits, type Units } from './fixed.js';

/**
 * A test's cap on contracts per order, per instrument, over a fallback where none is set:
 * the liquidity (none: unlimited) and the per-order maximum (the instrument's own) are each
 * one of these.
 */
export class QtyCaps<Fallback extends Units | undefined> {
  readonly #set = new Map<InstrumentId, Units>();

  constructor(private readonly fallback: (instrument: InstrumentId) => Fallback) {}

  /** undefined: back to the fallback */
  set(instrument: InstrumentId, maxQty: Units | undefined): QtyCap {
    if (maxQty === undefined) this.#set.delete(instrument);
    else this.#set.set(instrument, maxQty);
    return this.view(instrument);
  }

  /** the cap in force */
  of(instrument: InstrumentId): Units | Fallback {
    return this.#set.get(instrument) ?? this.fallback(instrument);
  }

  /** whether a test set any (most runs set none: no lookup per order then) */
  get anySet(): boolean {
    return this.#set.size > 0;
  }

  all(): QtyCap[] {
    return INSTRUMENT_IDS.map((i) => this.view(i));
  }

  private view(instrument: InstrumentId): QtyCap {
    const max = this.of(instrument);
    return { instrument, maxQty: max === undefined ? null : formatUnits(max) };
  }
}
