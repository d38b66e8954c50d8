import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccountSnapshot } from '../../src/copytrade/domain/account.js';
import type { SizingResult } from '../../src/copytrade/domain/copy-order.js';
import type { InstrumentRules } from '../../src/copytrade/domain/instrument.js';
import type { FollowSettings, LeadSettings } from '../../src/copytrade/domain/settings.js';
import { parseFollowSettings } from '../../src/copytrade/domain/settings-parse.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { type CopierState, prepareSignal, sizeCopy } from '../../src/copytrade/domain/sizing.js';
import type { SkipReason } from '../../src/copytrade/domain/skip-reasons.js';
import { emptySlice, type Slice } from '../../src/copytrade/domain/slices.js';

// One contract is 0.01 BTC: at 50,000 it is worth 500 USDT.
const rules: InstrumentRules = {
  instrument: 'BTC-USDT-SWAP',
  contractSize: '0.01',
  minQty: '0.5',
  qtyStep: '0.1',
  tickSize: '0.1',
};
const lead: LeadSettings = {
  traderId: 't1',
  instruments: ['BTC-USDT-SWAP'],
  maxCopiers: 500,
  profitShareRatio: '0.1',
  onLiquidation: 'close',
  signalSource: 'frames',
};
const open: TraderSignal = {
  signalId: 's1',
  traderId: 't1',
  instrument: 'BTC-USDT-SWAP',
  action: 'open',
  side: 'long',
  qty: '10',
  price: '50000',
  leverage: 10,
  positionBefore: '0',
  filledMs: 1764000000000,
};
const follow: FollowSettings = {
  copierId: 'c1',
  traderId: 't1',
  account: { type: 'main' },
  sizing: { mode: 'fixed-amount', margin: '100' },
  leverage: 'trader',
  marginMode: 'cross',
  positionMode: 'one-way',
  instruments: ['BTC-USDT-SWAP'],
  maxPositionValue: '10000',
  maxSlippage: '0.01',
  status: 'active',
};
const rich: AccountSnapshot = {
  marginKind: 'single-currency',
  balances: { USDT: { available: '100000', usdtValue: '100000' } },
};
const market = { price: '50000', feeRate: '0.0005' };

function size(
  over: Partial<FollowSettings> = {},
  opts: {
    signal?: Partial<TraderSignal>;
    account?: AccountSnapshot;
    slices?: Slice[];
    price?: string;
    lead?: LeadSettings;
  } = {},
): SizingResult {
  const p = prepareSignal({ ...open, ...opts.signal }, opts.lead ?? lead, rules, {
    ...market,
    price: opts.price ?? market.price,
  });
  const copier: CopierState = {
    follow: { ...follow, ...over },
    account: opts.account ?? rich,
    slices: opts.slices ?? [],
  };
  return sizeCopy(p, copier);
}

function order(r: SizingResult) {
  assert.equal(r.kind, 'order', r.kind === 'skip' ? `${r.skip.reason}: ${r.skip.detail}` : '');
  if (r.kind !== 'order') throw new Error('unreachable');
  return r.order;
}

function skipped(r: SizingResult, reason: SkipReason): string {
  assert.equal(r.kind, 'skip', r.kind === 'order' ? `ordered ${r.order.qty}` : '');
  if (r.kind !== 'skip') throw new Error('unreachable');
  assert.equal(r.skip.reason, reason, r.skip.detail);
  return r.skip.detail;
}

function slice(traderId: string, side: 'long' | 'short', qty: string, avg = '50000'): Slice {
  return {
    ...emptySlice({ copierId: 'c1', traderId, instrument: 'BTC-USDT-SWAP', side }),
    qty,
    avgEntryPrice: avg,
  };
}

describe('sizing an open', () => {
  it('fixed amount with the trader leverage: margin × leverage / (price × contract size)', () => {
    assert.deepEqual(order(size()), {
      clientOrderId: 's1:c1',
      signalId: 's1',
      copierId: 'c1',
      traderId: 't1',
      instrument: 'BTC-USDT-SWAP',
      account: { type: 'main' },
      action: 'open',
      side: 'long',
      orderSide: 'buy',
      posSide: 'net',
      qty: '2',
      reduceOnly: false,
      leverage: 10,
      marginMode: 'cross',
      margin: '100.5', // 2 × 500 / 10 + 2 × 500 × 0.0005
      limitPrice: '50500', // 50000 × (1 + 0.01): an IOC limit at the bound
    });
  });

  it('fixed amount with own leverage, rounded down to the step', () => {
    const o = order(size({ sizing: { mode: 'fixed-amount', margin: '123' }, leverage: 5 }));
    assert.equal(o.qty, '1.2'); // 123 × 5 / 500 = 1.23
    assert.equal(o.leverage, 5);
    assert.equal(o.margin, '120.3'); // 1.2 × 500 / 5 + 0.3
  });

  it('fixed amount sizes at the current price, not the trader fill', () => {
    assert.equal(order(size({}, { price: '50400' })).qty, '1.9'); // 1000 / 504 = 1.98
  });

  it('fixed ratio: trader qty × ratio, rounded down to the step; the leverage sets the margin only', () => {
    const own = order(size({ sizing: { mode: 'fixed-ratio', ratio: '0.137' }, leverage: 2 }));
    assert.equal(own.qty, '1.3');
    assert.equal(own.margin, '325.325'); // 1.3 × 500 / 2 + 0.325
    const traders = order(size({ sizing: { mode: 'fixed-ratio', ratio: '0.137' } }));
    assert.equal(traders.qty, '1.3');
    assert.equal(traders.margin, '65.325');
  });

  it('below the min quantity after rounding: skip', () => {
    skipped(size({ sizing: { mode: 'fixed-ratio', ratio: '0.049' } }), 'below-min-qty'); // 0.49 → 0.4
    assert.equal(order(size({ sizing: { mode: 'fixed-ratio', ratio: '0.05' } })).qty, '0.5');
    skipped(size({ sizing: { mode: 'fixed-amount', margin: '24.99' } }), 'below-min-qty'); // 0.4998
  });

  it('cross or isolated go on the order', () => {
    assert.equal(order(size({ marginMode: 'isolated' })).marginMode, 'isolated');
  });

  it('one-way opens on net; hedge opens on the side, a short with a sell', () => {
    const hedge = order(size({ positionMode: 'hedge' }));
    assert.equal(hedge.posSide, 'long');
    assert.equal(hedge.orderSide, 'buy');
    const short = order(size({ positionMode: 'hedge' }, { signal: { side: 'short' } }));
    assert.deepEqual([short.posSide, short.orderSide, short.reduceOnly], ['short', 'sell', false]);
    const net = order(size({}, { signal: { side: 'short' } }));
    assert.deepEqual([net.posSide, net.orderSide, net.reduceOnly], ['net', 'sell', false]);
  });

  it('max position value: reduced to fit, or skipped when what fits is below the min', () => {
    const big = { sizing: { mode: 'fixed-amount', margin: '300' } } as const; // 6 contracts = 3000 USDT
    assert.equal(order(size({ ...big, maxPositionValue: '1000' })).qty, '2');
    // holds 0.5 of this trader (250 USDT): 1.5 more fit
    assert.equal(
      order(size({ ...big, maxPositionValue: '1000' }, { slices: [slice('t1', 'long', '0.5')] })).qty,
      '1.5',
    );
    // holds 1.6 (800 USDT): 0.4 fit, below the min
    skipped(
      size({ ...big, maxPositionValue: '1000' }, { slices: [slice('t1', 'long', '1.6')] }),
      'over-max-position',
    );
    // already above the cap (the price rose)
    skipped(
      size({ ...big, maxPositionValue: '1000' }, { slices: [slice('t1', 'long', '2.5')] }),
      'over-max-position',
    );
    // another trader's slice, or this trader's other side, does not count
    const others = [slice('t2', 'long', '1.6'), slice('t1', 'short', '1.6')];
    assert.equal(
      order(size({ ...big, maxPositionValue: '1000', positionMode: 'hedge' }, { slices: others })).qty,
      '2',
    );
  });

  it('single-currency: the USDT available balance, in cross and isolated', () => {
    const account: AccountSnapshot = {
      marginKind: 'single-currency',
      balances: {
        USDT: { available: '100.49', usdtValue: '100.49' },
        BTC: { available: '1', usdtValue: '50000' },
      },
    };
    assert.match(
      skipped(size({}, { account }), 'insufficient-balance'),
      /needs 100.5 USDT, 100.49 available/,
    );
    skipped(size({ marginMode: 'isolated' }, { account }), 'insufficient-balance');
    const exact = { ...account, balances: { USDT: { available: '100.5', usdtValue: '100.5' } } };
    assert.equal(order(size({}, { account: exact })).margin, '100.5');
    skipped(size({}, { account: { marginKind: 'single-currency', balances: {} } }), 'insufficient-balance');
  });

  for (const marginKind of ['multi-currency', 'portfolio'] as const) {
    it(`${marginKind}: cross reads the sum of USDT-valued equity, isolated the USDT alone`, () => {
      const account: AccountSnapshot = {
        marginKind,
        balances: {
          USDT: { available: '60', usdtValue: '60' },
          BTC: { available: '0.001', usdtValue: '40.5' },
        },
      };
      assert.equal(order(size({}, { account })).qty, '2'); // 100.5 ≤ 60 + 40.5
      skipped(size({ marginMode: 'isolated' }, { account }), 'insufficient-balance');
      const less = {
        ...account,
        balances: { ...account.balances, BTC: { available: '0.001', usdtValue: '40.49' } },
      };
      skipped(size({}, { account: less }), 'insufficient-balance');
    });
  }

  it('one-way: an open that nets against another trader slice needs margin for the growth of |net| only', () => {
    const account: AccountSnapshot = {
      marginKind: 'single-currency',
      balances: { USDT: { available: '1', usdtValue: '1' } },
    };
    // holds B short 3: buying 2 takes net −3 → −1, fee only (0.5)
    const o = order(size({}, { account, slices: [slice('t2', 'short', '3')] }));
    assert.deepEqual([o.qty, o.margin, o.reduceOnly, o.orderSide], ['2', '0.5', false, 'buy']);
    // B short 1: net −1 → +1, |net| does not grow: fee only
    assert.equal(order(size({}, { slices: [slice('t2', 'short', '1')] })).margin, '0.5');
    // B short 0.5: net −0.5 → +1.5, margin for 1 contract
    assert.equal(order(size({}, { slices: [slice('t2', 'short', '0.5')] })).margin, '50.5');
    // hedge: no netting
    skipped(
      size({ positionMode: 'hedge' }, { account, slices: [slice('t2', 'short', '3')] }),
      'insufficient-balance',
    );
  });

  it('slippage: skip when the price moved past the max from the trader fill', () => {
    // |49750 − 50000| / 50000 = 0.005
    assert.match(
      skipped(size({ maxSlippage: '0.0049' }, { price: '49750' }), 'price-moved'),
      /moved 0.005 from 50000/,
    );
    assert.equal(order(size({ maxSlippage: '0.005' }, { price: '49750' })).qty, '2'); // 1000 / 497.5 = 2.01
    skipped(size({ maxSlippage: '0.0049' }, { price: '50250' }), 'price-moved');
    assert.equal(order(size({ maxSlippage: '0' }, { price: '50000' })).qty, '2');
  });

  it('the bound as the limit: a buy at fill × (1 + s) rounded down, a sell at fill × (1 − s) rounded up', () => {
    // 50000.3 × 1.01 = 50500.303 → 50500.3; 50000.3 × 0.99 = 49500.297 → 49500.3 (tick 0.1)
    const at = { signal: { price: '50000.3' }, price: '50000.3' };
    assert.equal(order(size({}, at)).limitPrice, '50500.3');
    const short = { signal: { price: '50000.3', side: 'short' as const }, price: '50000.3' };
    assert.equal(order(size({}, short)).orderSide, 'sell');
    assert.equal(order(size({}, short)).limitPrice, '49500.3');
    // one-way, a long open against a short net position is still a buy: bounded above
    const o = order(size({}, { ...at, slices: [slice('t2', 'short', '1')] }));
    assert.equal(o.orderSide, 'buy');
    assert.equal(o.limitPrice, '50500.3');
  });

  it('no maxSlippage: 0.5% on BTC and ETH, 1.5% on others, per instrument', () => {
    const { maxSlippage: _, ...unset } = follow;
    const sized = (instrument: string, price: string) =>
      sizeCopy(
        prepareSignal(
          { ...open, instrument },
          { ...lead, instruments: [instrument] },
          { ...rules, instrument },
          {
            ...market,
            price,
          },
        ),
        { follow: { ...unset, instruments: [instrument] }, account: rich, slices: [] },
      );
    assert.equal(order(sized('BTC-USDT-SWAP', '50000')).limitPrice, '50250');
    assert.equal(order(sized('ETH-USDT-SWAP', '50000')).limitPrice, '50250');
    assert.equal(order(sized('SOL-USDT-SWAP', '50000')).limitPrice, '50750');
    // and the sizing-time check uses the same default: 0.6% is past BTC's, within SOL's
    assert.match(skipped(sized('BTC-USDT-SWAP', '50300'), 'price-moved'), /max 0.005/);
    assert.equal(order(sized('SOL-USDT-SWAP', '50300')).limitPrice, '50750');
  });

  it('one signal, copiers of several bounds: each gets its own limit (computed once per signal and bound)', () => {
    const p = prepareSignal(open, lead, rules, market);
    const { maxSlippage: _, ...unset } = follow;
    const at = (f: FollowSettings) => order(sizeCopy(p, { follow: f, account: rich, slices: [] })).limitPrice;
    for (let round = 0; round < 2; round++) {
      assert.equal(at({ ...follow, maxSlippage: '0.01' }), '50500');
      assert.equal(at(unset), '50250');
      assert.equal(at({ ...follow, maxSlippage: '0.02' }), '51000');
      assert.equal(at({ ...follow, maxSlippage: '0.005' }), '50250');
    }
  });

  it('a close carries no limit: it goes at market', () => {
    const r = size(
      {},
      { signal: { action: 'close', qty: '5', positionBefore: '10' }, slices: [slice('t1', 'long', '2')] },
    );
    assert.equal(order(r).limitPrice, undefined);
  });

  it('paused, stopped, instrument not followed: skip', () => {
    skipped(size({ status: 'paused' }), 'follow-paused');
    skipped(size({ status: 'stopped' }), 'follow-stopped');
    skipped(size({ instruments: ['ETH-USDT-SWAP'] }), 'instrument-not-followed');
  });

  it('take profit and stop loss on margin: the price moves by ratio / leverage', () => {
    const long = order(size({ takeProfitRatio: '0.5', stopLossRatio: '0.2' }));
    assert.deepEqual([long.takeProfitPrice, long.stopLossPrice], ['52500', '49000']);
    const short = order(
      size({ takeProfitRatio: '0.5', stopLossRatio: '0.2' }, { signal: { side: 'short' } }),
    );
    assert.deepEqual([short.takeProfitPrice, short.stopLossPrice], ['47500', '51000']);
    // 50000.3 × 10.5 / 10 = 52500.315 → 52500.4 (away from the entry); × 9.8 / 10 = 49000.294 → 49000.2
    const odd = order(
      size({ takeProfitRatio: '0.5', stopLossRatio: '0.2', maxSlippage: '1' }, { price: '50000.3' }),
    );
    assert.deepEqual([odd.takeProfitPrice, odd.stopLossPrice], ['52500.4', '49000.2']);
    const far = order(size({ takeProfitRatio: '20' }, { signal: { side: 'short' } }));
    assert.equal(far.takeProfitPrice, undefined);
    assert.equal('takeProfitPrice' in order(size()), false);
  });
});

describe('sizing a close', () => {
  const close = (qty: string, positionBefore: string, side: 'long' | 'short' = 'long') => ({
    signalId: 's2',
    action: 'close' as const,
    qty,
    positionBefore,
    side,
    price: '51000',
  });

  it('closes the fraction the trader closed, of this trader slice only', () => {
    const slices = [slice('t1', 'long', '3'), slice('t2', 'long', '5')];
    const o = order(size({ positionMode: 'hedge' }, { signal: close('5', '10'), slices }));
    assert.deepEqual(o, {
      clientOrderId: 's2:c1',
      signalId: 's2',
      copierId: 'c1',
      traderId: 't1',
      instrument: 'BTC-USDT-SWAP',
      account: { type: 'main' },
      action: 'close',
      side: 'long',
      orderSide: 'sell',
      posSide: 'long',
      qty: '1.5',
      reduceOnly: true,
      leverage: 10,
      marginMode: 'cross',
      margin: '0',
    });
  });

  it('rounds down to the step and never closes more than the slice', () => {
    assert.equal(order(size({}, { signal: close('1', '3'), slices: [slice('t1', 'long', '2')] })).qty, '0.6');
    assert.equal(
      order(size({}, { signal: close('10', '10'), slices: [slice('t1', 'long', '2.3')] })).qty,
      '2.3',
    );
    // the trader closing more than it reported holding is a full close
    assert.equal(
      order(size({}, { signal: close('12', '10'), slices: [slice('t1', 'long', '2.3')] })).qty,
      '2.3',
    );
  });

  it('a partial close below the min is skipped; a full close takes what is left, however small', () => {
    skipped(size({}, { signal: close('5', '10'), slices: [slice('t1', 'long', '0.9')] }), 'below-min-qty');
    skipped(size({}, { signal: close('1', '100'), slices: [slice('t1', 'long', '2')] }), 'below-min-qty'); // 0.02 → 0
    assert.equal(
      order(size({}, { signal: close('10', '10'), slices: [slice('t1', 'long', '0.3')] })).qty,
      '0.3',
    );
  });

  it('no slice of this trader on this side: skip', () => {
    skipped(size({}, { signal: close('5', '10') }), 'no-slice');
    skipped(size({}, { signal: close('5', '10'), slices: [slice('t2', 'long', '3')] }), 'no-slice');
    skipped(size({}, { signal: close('5', '10'), slices: [slice('t1', 'short', '3')] }), 'no-slice');
    skipped(size({}, { signal: close('5', '10'), slices: [slice('t1', 'long', '0')] }), 'no-slice');
  });

  it('paused or unfollowed instrument still closes; stopped does not; no slippage or balance check', () => {
    const slices = [slice('t1', 'long', '3')];
    const poor: AccountSnapshot = { marginKind: 'single-currency', balances: {} };
    assert.equal(order(size({ status: 'paused' }, { signal: close('5', '10'), slices })).qty, '1.5');
    assert.equal(
      order(size({ instruments: ['ETH-USDT-SWAP'] }, { signal: close('5', '10'), slices })).qty,
      '1.5',
    );
    assert.equal(
      order(size({ maxSlippage: '0' }, { signal: close('5', '10'), slices, account: poor })).qty,
      '1.5',
    );
    skipped(size({ status: 'stopped' }, { signal: close('5', '10'), slices }), 'follow-stopped');
  });

  it("trader liquidated: the lead's policy decides", () => {
    const slices = [slice('t1', 'long', '3')];
    const liq = { ...close('10', '10'), liquidation: true };
    assert.equal(order(size({}, { signal: liq, slices })).qty, '3');
    skipped(
      size({}, { signal: liq, slices, lead: { ...lead, onLiquidation: 'keep' } }),
      'kept-after-liquidation',
    );
    // an ordinary close under a keep policy still closes
    assert.equal(
      order(size({}, { signal: close('10', '10'), slices, lead: { ...lead, onLiquidation: 'keep' } })).qty,
      '3',
    );
  });

  it('one-way: reduceOnly only when the close truly reduces the net position', () => {
    const c = close('10', '10');
    // A long 2 alone: sell 2 of net +2
    assert.equal(order(size({}, { signal: c, slices: [slice('t1', 'long', '2')] })).reduceOnly, true);
    // A long 2, B short 1: net +1, selling 2 crosses to −1
    const crosses = order(
      size({}, { signal: c, slices: [slice('t1', 'long', '2'), slice('t2', 'short', '1')] }),
    );
    assert.deepEqual(
      [crosses.orderSide, crosses.posSide, crosses.qty, crosses.reduceOnly],
      ['sell', 'net', '2', false],
    );
    // A long 2, B short 3: net −1, selling 2 adds to the short
    assert.equal(
      order(size({}, { signal: c, slices: [slice('t1', 'long', '2'), slice('t2', 'short', '3')] }))
        .reduceOnly,
      false,
    );
    // A short 1, B long 2 (net +1): buying 1 back takes net to +2
    const sc = close('10', '10', 'short');
    const shortClose = order(
      size({}, { signal: sc, slices: [slice('t1', 'short', '1'), slice('t2', 'long', '2')] }),
    );
    assert.deepEqual([shortClose.orderSide, shortClose.reduceOnly], ['buy', false]);
    // hedge mode: a close always reduces its own side
    const hedge = order(
      size(
        { positionMode: 'hedge' },
        { signal: c, slices: [slice('t1', 'long', '2'), slice('t2', 'short', '3')] },
      ),
    );
    assert.deepEqual([hedge.posSide, hedge.reduceOnly], ['long', true]);
  });
});

describe('parsed follows', () => {
  it('a frozen follow from parseFollowSettings sizes like the plain object, signal after signal', () => {
    const parsed = parseFollowSettings({ ...follow, sizing: { mode: 'fixed-amount', margin: '100' } });
    const at = (price: string) => {
      const p = prepareSignal({ ...open, price }, lead, rules, { ...market, price });
      return order(sizeCopy(p, { follow: parsed, account: rich, slices: [] })).qty;
    };
    assert.deepEqual([at('50000'), at('40000'), at('50000')], ['2', '2.5', '2']);
  });

  it('a follow changed in place is read afresh', () => {
    const f: FollowSettings = { ...follow, sizing: { mode: 'fixed-amount', margin: '100' } };
    const p = prepareSignal(open, lead, rules, market);
    assert.equal(order(sizeCopy(p, { follow: f, account: rich, slices: [] })).qty, '2');
    f.sizing = { mode: 'fixed-amount', margin: '200' };
    f.maxSlippage = '0.02';
    assert.equal(order(sizeCopy(p, { follow: f, account: rich, slices: [] })).qty, '4');
  });
});

describe('prepareSignal', () => {
  it('refuses inputs that do not belong together', () => {
    assert.throws(
      () => prepareSignal(open, { ...lead, traderId: 't2' }, rules, market),
      /lead settings of t2/,
    );
    assert.throws(
      () => prepareSignal({ ...open, instrument: 'ETH-USDT-SWAP' }, lead, rules, market),
      /rules of/,
    );
    assert.throws(() =>
      prepareSignal({ ...open, action: 'close', positionBefore: '0' }, lead, rules, market),
    );
    const p = prepareSignal(open, lead, rules, market);
    assert.throws(
      () => sizeCopy(p, { follow: { ...follow, traderId: 't2' }, account: rich, slices: [] }),
      /t2/,
    );
  });
});
