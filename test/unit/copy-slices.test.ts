import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccountSnapshot } from '../../src/copytrade/domain/account.js';
import type { CopyOrder } from '../../src/copytrade/domain/copy-order.js';
import { fxStr } from '../../src/copytrade/domain/fixed.js';
import type { InstrumentRules } from '../../src/copytrade/domain/instrument.js';
import { netPosition } from '../../src/copytrade/domain/netting.js';
import { profitShare } from '../../src/copytrade/domain/profit-share.js';
import type { FollowSettings, LeadSettings, PositionMode } from '../../src/copytrade/domain/settings.js';
import type { PositionSide, TraderSignal } from '../../src/copytrade/domain/signal.js';
import { prepareSignal, sizeCopy } from '../../src/copytrade/domain/sizing.js';
import {
  applyCloseFill,
  applyOpenFill,
  type ClosedPart,
  closeQty,
  emptySlice,
  findSlice,
  type Slice,
  sliceId,
} from '../../src/copytrade/domain/slices.js';
import { money } from '../../src/domain/money.js';

const INST = 'BTC-USDT-SWAP';
const rules: InstrumentRules = {
  instrument: INST,
  contractSize: '0.01',
  minQty: '0.5',
  qtyStep: '0.1',
  tickSize: '0.1',
};
const account: AccountSnapshot = {
  marginKind: 'single-currency',
  balances: { USDT: { available: '1000000', usdtValue: '1000000' } },
};
const leadOf = (traderId: string): LeadSettings => ({
  traderId,
  instruments: [INST],
  maxCopiers: 500,
  profitShareRatio: '0.1',
  onLiquidation: 'close',
  signalSource: 'frames',
});

/**
 * One copier `c1` following several traders on one account, with a toy exchange that
 * applies each order as the exchange would: one net position (one-way) or a long and a
 * short position (hedge), refusing a reduce-only order that would not reduce.
 */
class Copier {
  slices: Slice[] = [];
  exchange = { net: money(0), long: money(0), short: money(0) };
  closes: Record<string, ClosedPart[]> = {};
  private n = 0;

  constructor(
    readonly mode: PositionMode,
    readonly ratios: Record<string, string>,
  ) {}

  follow(traderId: string): FollowSettings {
    return {
      copierId: 'c1',
      traderId,
      account: { type: 'main' },
      sizing: { mode: 'fixed-ratio', ratio: this.ratios[traderId] ?? '1' },
      leverage: 'trader',
      marginMode: 'cross',
      positionMode: this.mode,
      instruments: [INST],
      maxPositionValue: '1000000',
      maxSlippage: '0.1',
      status: 'active',
    };
  }

  /** The trader's fill → sizing → the copier's order filled at the same price with `fee`. */
  signal(
    traderId: string,
    action: 'open' | 'close',
    side: PositionSide,
    qty: string,
    positionBefore: string,
    price: string,
    fee: string,
  ): CopyOrder {
    this.n += 1;
    const signal: TraderSignal = {
      signalId: `s${this.n}`,
      traderId,
      instrument: INST,
      action,
      side,
      qty,
      price,
      leverage: 10,
      positionBefore,
      filledMs: 1764000000000 + this.n,
    };
    const p = prepareSignal(signal, leadOf(traderId), rules, { price, feeRate: '0.0005' });
    const r = sizeCopy(p, { follow: this.follow(traderId), account, slices: this.slices });
    if (r.kind !== 'order') throw new Error(`skipped: ${r.skip.reason} ${r.skip.detail}`);
    const o = r.order;
    this.place(o);
    const key = { copierId: 'c1', traderId, instrument: INST, side };
    const current = findSlice(this.slices, traderId, INST, side) ?? emptySlice(key);
    const fill = { qty: o.qty, price, fee };
    let next: Slice;
    if (action === 'open') next = applyOpenFill(current, fill);
    else {
      const closed = applyCloseFill(current, fill, rules.contractSize);
      this.closes[traderId] = [...(this.closes[traderId] ?? []), closed];
      next = closed.slice;
    }
    this.slices = [...this.slices.filter((s) => sliceId(s) !== sliceId(next)), next];
    return o;
  }

  private place(o: CopyOrder): void {
    const q = money(o.qty);
    const signed = o.orderSide === 'buy' ? q : q.neg();
    if (o.posSide === 'net') {
      const n = this.exchange.net;
      if (o.reduceOnly && (n.isZero() || n.isNegative() === signed.isNegative() || q.gt(n.abs()))) {
        throw new Error(`exchange refuses reduce-only ${o.orderSide} ${o.qty} on net ${n}`);
      }
      this.exchange.net = n.plus(signed);
    } else {
      const grows = (o.posSide === 'long') === (o.orderSide === 'buy');
      if (o.reduceOnly === grows)
        throw new Error(`hedge ${o.posSide} ${o.orderSide} reduceOnly ${o.reduceOnly}`);
      this.exchange[o.posSide] = this.exchange[o.posSide].plus(grows ? q : q.neg());
    }
  }

  slice(traderId: string, side: PositionSide = 'long'): Slice {
    const s = findSlice(this.slices, traderId, INST, side);
    assert.ok(s, `no slice of ${traderId} ${side}`);
    return s;
  }

  /** The exchange position is the sum of the slices. */
  assertExchangeMatchesSlices(): void {
    if (this.mode === 'one-way') {
      assert.equal(this.exchange.net.toFixed(), fxStr(netPosition(this.slices, INST)));
    } else {
      const sum = (side: PositionSide) =>
        this.slices.filter((s) => s.side === side).reduce((a, s) => a.plus(s.qty), money(0));
      assert.equal(this.exchange.long.toFixed(), sum('long').toFixed());
      assert.equal(this.exchange.short.toFixed(), sum('short').toFixed());
    }
  }
}

const brief = (s: Slice) => ({
  qty: s.qty,
  avgEntryPrice: s.avgEntryPrice,
  realisedPnl: s.realisedPnl,
  fees: s.fees,
  heldFees: s.heldFees,
});

for (const mode of ['one-way', 'hedge'] as const) {
  describe(`a copier following two traders on one instrument, ${mode}`, () => {
    it('A closes half: only A slice halves, and its PnL is A’s alone', () => {
      const c = new Copier(mode, { A: '0.2', B: '0.1' });
      c.signal('A', 'open', 'long', '10', '0', '50000', '0.5'); // c1: 2 of A
      c.signal('B', 'open', 'long', '20', '0', '50100', '0.5'); // c1: 2 of B
      c.assertExchangeMatchesSlices();
      assert.deepEqual(brief(c.slice('B')), {
        qty: '2',
        avgEntryPrice: '50100',
        realisedPnl: '0',
        fees: '0.5',
        heldFees: '0.5',
      });

      const half = c.signal('A', 'close', 'long', '5', '10', '51000', '0.25');
      assert.deepEqual([half.orderSide, half.qty, half.reduceOnly], ['sell', '1', true]);
      assert.equal(half.posSide, mode === 'hedge' ? 'long' : 'net');
      c.assertExchangeMatchesSlices();
      // (51000 − 50000) × 1 × 0.01 = 10; fees: 0.25 now + half of the 0.5 open fee
      assert.deepEqual(c.closes.A, [{ slice: c.slice('A'), grossPnl: '10', fees: '0.5', pnl: '9.5' }]);
      assert.deepEqual(brief(c.slice('A')), {
        qty: '1',
        avgEntryPrice: '50000',
        realisedPnl: '9.5',
        fees: '0.75',
        heldFees: '0.25',
      });
      assert.deepEqual(brief(c.slice('B')), {
        qty: '2',
        avgEntryPrice: '50100',
        realisedPnl: '0',
        fees: '0.5',
        heldFees: '0.5',
      });
      assert.equal(c.closes.B, undefined);
      assert.equal(profitShare(c.closes.A?.[0]?.pnl ?? '', '0.1'), '0.95');

      // A adds, then B closes all of its position: A's slice is untouched
      c.signal('A', 'open', 'long', '5', '5', '52000', '0.3'); // c1: +1 of A at 52000
      assert.equal(c.slice('A').avgEntryPrice, '51000');
      c.signal('B', 'close', 'long', '20', '20', '49100', '0.49');
      c.assertExchangeMatchesSlices();
      assert.deepEqual(brief(c.slice('B')), {
        qty: '0',
        avgEntryPrice: '0',
        realisedPnl: '-20.99', // −1000 × 2 × 0.01 − 0.49 − 0.5
        fees: '0.99',
        heldFees: '0',
      });
      assert.equal(profitShare(c.slice('B').realisedPnl, '0.1'), '0');
      assert.deepEqual(brief(c.slice('A')), {
        qty: '2',
        avgEntryPrice: '51000',
        realisedPnl: '9.5',
        fees: '1.05',
        heldFees: '0.55',
      });
    });

    it('a full close after uneven partial closes leaves no dust, in quantity or fees', () => {
      const c = new Copier(mode, { A: '0.23' });
      c.signal('A', 'open', 'long', '10', '0', '50000', '0.1'); // 2.3
      assert.equal(c.signal('A', 'close', 'long', '10', '30', '50000', '0.01').qty, '0.7'); // 2.3 / 3 = 0.766
      assert.deepEqual(c.closes.A?.[0]?.fees, '0.04043478'); // 0.01 + 0.1 × 0.7 / 2.3 rounded down
      assert.equal(c.signal('A', 'close', 'long', '10', '20', '50000', '0.01').qty, '0.8');
      const last = c.signal('A', 'close', 'long', '10', '10', '50000', '0.01');
      assert.equal(last.qty, '0.8');
      assert.deepEqual(brief(c.slice('A')), {
        qty: '0',
        avgEntryPrice: '0',
        realisedPnl: '-0.13', // at the entry price: every fee, nothing else
        fees: '0.13',
        heldFees: '0',
      });
      c.assertExchangeMatchesSlices();
    });

    it('shorts: PnL reversed', () => {
      const c = new Copier(mode, { A: '0.1' });
      c.signal('A', 'open', 'short', '10', '0', '3000.5', '0');
      c.signal('A', 'close', 'short', '10', '10', '2990.3', '0');
      // (3000.5 − 2990.3) × 1 × 0.01
      assert.equal(c.slice('A', 'short').realisedPnl, '0.102');
      assert.deepEqual(c.closes.A?.[0]?.grossPnl, '0.102');
    });
  });
}

describe('opposite sides of one instrument', () => {
  it('one-way: the orders net on the exchange, reduceOnly only where a close truly reduces', () => {
    const c = new Copier('one-way', { A: '0.2', B: '0.1' });
    const a = c.signal('A', 'open', 'long', '10', '0', '50000', '0'); // A long 2: net +2
    assert.deepEqual([a.orderSide, a.reduceOnly, a.margin], ['buy', false, '100.5']);
    const b = c.signal('B', 'open', 'short', '10', '0', '50000', '0'); // B short 1: net +1
    assert.deepEqual([b.orderSide, b.posSide, b.reduceOnly, b.margin], ['sell', 'net', false, '0.25']);
    assert.equal(c.exchange.net.toFixed(), '1');
    const ac = c.signal('A', 'close', 'long', '10', '10', '51000', '0'); // sell 2: net +1 → −1
    assert.deepEqual([ac.orderSide, ac.qty, ac.reduceOnly], ['sell', '2', false]);
    assert.equal(c.exchange.net.toFixed(), '-1');
    const bc = c.signal('B', 'close', 'short', '10', '10', '51000', '0'); // buy 1: net −1 → 0
    assert.deepEqual([bc.orderSide, bc.qty, bc.reduceOnly], ['buy', '1', true]);
    c.assertExchangeMatchesSlices();
    assert.equal(c.exchange.net.toFixed(), '0');
    // A long gained 20, B short lost 10; the account's cash flow is the same 10
    assert.equal(c.slice('A').realisedPnl, '20');
    assert.equal(c.slice('B', 'short').realisedPnl, '-10');
    // sells − buys, × contract size: (−2 × 50000 + 50000 + 2 × 51000 − 51000) × 0.01 = 10
    const cash = money(-100000).plus(50000).plus(102000).minus(51000).mul(rules.contractSize);
    assert.equal(cash.toFixed(), '10');
    assert.equal(
      money(c.slice('A').realisedPnl).plus(c.slice('B', 'short').realisedPnl).toFixed(),
      cash.toFixed(),
    );
  });

  it('hedge: two positions, every close reduce-only on its own side', () => {
    const c = new Copier('hedge', { A: '0.2', B: '0.1' });
    assert.equal(c.signal('A', 'open', 'long', '10', '0', '50000', '0').posSide, 'long');
    const b = c.signal('B', 'open', 'short', '10', '0', '50000', '0');
    assert.deepEqual([b.posSide, b.orderSide, b.margin], ['short', 'sell', '50.25']);
    const ac = c.signal('A', 'close', 'long', '5', '10', '51000', '0');
    assert.deepEqual([ac.posSide, ac.orderSide, ac.qty, ac.reduceOnly], ['long', 'sell', '1', true]);
    c.assertExchangeMatchesSlices();
    assert.deepEqual([c.exchange.long.toFixed(), c.exchange.short.toFixed()], ['1', '1']);
  });
});

describe('slice functions', () => {
  const key = { copierId: 'c1', traderId: 'A', instrument: INST, side: 'long' as const };

  it('weights the entry price by quantity', () => {
    let s = applyOpenFill(emptySlice(key), { qty: '1', price: '100', fee: '0' });
    s = applyOpenFill(s, { qty: '2', price: '101', fee: '0' });
    assert.equal(s.avgEntryPrice, '100.666666666666666667'); // 302 / 3, 18 places
  });

  it('refuses a close fill larger than the slice, or empty', () => {
    const s = applyOpenFill(emptySlice(key), { qty: '1', price: '100', fee: '0' });
    assert.throws(() => applyCloseFill(s, { qty: '1.1', price: '100', fee: '0' }, '0.01'), RangeError);
    assert.throws(() => applyCloseFill(s, { qty: '0', price: '100', fee: '0' }, '0.01'), RangeError);
    assert.throws(() => applyOpenFill(s, { qty: '-1', price: '100', fee: '0' }), RangeError);
  });

  it('closeQty: the trader fraction rounded down to the step, the whole slice on a full close', () => {
    assert.equal(closeQty('2.3', '5', '10', '0.1'), '1.1');
    assert.equal(closeQty('2.3', '999999', '1000000', '0.1'), '2.2');
    assert.equal(closeQty('2.35', '10', '10', '0.1'), '2.35');
    assert.equal(closeQty('2.35', '11', '10', '0.1'), '2.35');
    assert.equal(closeQty('0.05', '1', '2', '0.1'), '0');
    assert.equal(closeQty('3', '1', '3', '0.1'), '1'); // exactly a third: no loss to the 18-place scale
  });
});
