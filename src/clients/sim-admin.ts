import type {
  FilledOrder,
  InstrumentId,
  LiquidateRequest,
  PriceMoveSetting,
  QtyCap,
} from './exchange-wire.js';
import { HttpJson, isObject } from './http-json.js';
import type { Asset, FaultSettings, LedgerView } from './wire.js';

export type { FaultSettings };

/** The simulator's admin side, for tests, the CLI and the demo. */
export interface SimAdmin {
  /** balances, conservation and effect counts; `prefix` narrows the effect counts to keys starting with it */
  getLedger(prefix?: string): Promise<LedgerView>;
  setFaults(settings: FaultSettings): Promise<FaultSettings>;
  getFaults(): Promise<FaultSettings>;
  /** the current price of `asset` in USDT, a decimal string */
  price(asset: Asset): Promise<string>;
  /** moves the price of `asset`; `hold` keeps it there (no random walk) until the next call */
  setPrice(asset: Asset, price: string, opts?: { hold?: boolean }): Promise<void>;
  /**
   * The most contracts one exchange order fills on `instrument` (a positive multiple of its
   * step); the rest is canceled (INSUFFICIENT_LIQUIDITY). null: unlimited, the default.
   */
  setLiquidity(instrument: InstrumentId, maxQty: string | null): Promise<QtyCap>;
  liquidity(): Promise<QtyCap[]>;
  /** the most contracts one order may carry (null: the instrument's own maximum); a larger one is refused, QTY_ABOVE_MAX */
  setMaxOrderQty(instrument: InstrumentId, maxQty: string | null): Promise<QtyCap>;
  /**
   * Arms a move of `instrument`'s feed price to `price` (at most 2 places) at the next order
   * placed on it (of `account` only, when given), just before that order is decided: once.
   */
  movePriceAtNextOrder(
    instrument: InstrumentId,
    price: string,
    opts?: { account?: string; hold?: boolean },
  ): Promise<PriceMoveSetting>;
  /**
   * The exchange liquidates the account's position on the instrument (LiquidateRequest): all
   * of it at the feed price, its fill events marked `liquidation: true`. NO_POSITION (422).
   */
  liquidate(req: LiquidateRequest): Promise<FilledOrder>;
  close(): Promise<void>;
}

/** The ledger view replays the whole journal, so it gets a generous timeout by default. */
export function createSimAdmin(baseUrl: string, opts: { timeoutMs?: number } = {}): SimAdmin {
  const http = new HttpJson({ timeoutMs: opts.timeoutMs ?? 30_000, connections: 2 });
  const faults = (b: unknown) => (isObject(b) ? (b as FaultSettings) : undefined);
  return {
    getLedger: (prefix) =>
      http.call(
        baseUrl,
        'GET',
        prefix === undefined ? '/ledger' : `/ledger?prefix=${encodeURIComponent(prefix)}`,
        undefined,
        (b) =>
          isObject(b) && typeof b.conserved === 'boolean' && isObject(b.effects)
            ? (b as unknown as LedgerView)
            : undefined,
      ),
    setFaults: (settings) => http.call(baseUrl, 'POST', '/admin/faults', settings, faults),
    getFaults: () => http.call(baseUrl, 'GET', '/admin/faults', undefined, faults),
    price: (asset) =>
      http.call(baseUrl, 'GET', `/price?asset=${asset}`, undefined, (b) =>
        isObject(b) && typeof b.price === 'string' ? b.price : undefined,
      ),
    setPrice: async (asset, price, opts = {}) => {
      await http.call(baseUrl, 'POST', '/admin/price', { asset, price, hold: opts.hold === true }, (b) =>
        isObject(b) && b.price === price ? b : undefined,
      );
    },
    setLiquidity: (instrument, maxQty) =>
      http.call(baseUrl, 'POST', '/admin/liquidity', { instrument, maxQty }, (b) =>
        isObject(b) && b.instrument === instrument ? (b as unknown as QtyCap) : undefined,
      ),
    setMaxOrderQty: (instrument, maxQty) =>
      http.call(baseUrl, 'POST', '/admin/max-qty', { instrument, maxQty }, (b) =>
        isObject(b) && b.instrument === instrument ? (b as unknown as QtyCap) : undefined,
      ),
    liquidity: () =>
      http.call(baseUrl, 'GET', '/admin/liquidity', undefined, (b) =>
        isObject(b) && Array.isArray(b.liquidity) ? (b.liquidity as QtyCap[]) : undefined,
      ),
    movePriceAtNextOrder: (instrument, price, opts = {}) =>
      http.call(
        baseUrl,
        'POST',
        '/admin/price-move',
        { instrument, price, account: opts.account, hold: opts.hold === true },
        (b) => (isObject(b) && b.instrument === instrument ? (b as unknown as PriceMoveSetting) : undefined),
      ),
    liquidate: (req) =>
      http.call(baseUrl, 'POST', '/admin/liquidate', req, (b) =>
        isObject(b) && b.status === 'filled' && b.liquidation === true
          ? (b as unknown as FilledOrder)
          : undefined,
      ),
    close: () => http.close(),
  };
}
