import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccountSnapshot } from '../../src/copytrade/domain/account.js';
import {
  flatKey,
  lastSignalBySide,
  leadFlatClose,
  leadHolds,
  manualChange,
  planRepair,
  positionDrifts,
  type RepairInput,
  repairKey,
  signalDrift,
} from '../../src/copytrade/domain/drift.js';
import type { InstrumentRules } from '../../src/copytrade/domain/instrument.js';
import type { FollowSettings, LeadSettings } from '../../src/copytrade/domain/settings.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { emptySlice, type Slice } from '../../src/copytrade/domain/slices.js';

// One contract is 0.01 BTC: at 50,000 it is worth 500 USDT.
const rules: InstrumentRules = {
  instrument: 'BTC-USDT-SWAP',
  contractSize: '0.01',
  minQty: '0.1',
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
  qty: '1',
  price: '50000',
  leverage: 10,
  positionBefore: '0',
  filledMs: 1764000000000,
};
const close: TraderSignal = { ...open, signalId: 's2', action: 'close', qty: '1', positionBefore: '2' };
const follow: FollowSettings = {
  copierId: 'c1',
  traderId: 't1',
  account: { type: 'main' },
  sizing: { mode: 'fixed-ratio', ratio: '2' },
  leverage: 'trader',
  marginMode: 'cross',
  positionMode: 'one-way',
  instruments: ['BTC-USDT-SWAP'],
  maxPositionValue: '1000000',
  maxSlippage: '0.01',
  status: 'active',
};
const rich: AccountSnapshot = {
  marginKind: 'single-currency',
  balances: { USDT: { available: '100000', usdtValue: '100000' } },
};
const slice = (over: Partial<Slice>): Slice => ({
  ...emptySlice({ copierId: 'c1', traderId: 't1', instrument: 'BTC-USDT-SWAP', side: 'long' }),
  ...over,
});
const input = (over: Partial<RepairInput>): RepairInput => ({
  kind: 'missed-open',
  signal: open,
  lead,
  rules,
  market: { price: '50000', feeRate: '0.0005' },
  follow,
  account: rich,
  slices: [],
  ...over,
});

describe('drift: which copies drifted (per signal)', () => {
  it('a fill or a skip is the copy as it should be', () => {
    assert.equal(signalDrift(open, { orderStatus: 'FILLED', skipReason: null }), null);
    assert.equal(signalDrift(open, { orderStatus: null, skipReason: 'insufficient-balance' }), null);
    assert.equal(signalDrift(open, { orderStatus: null, skipReason: 'not-filled-at-bound' }), null);
    assert.equal(signalDrift(close, { orderStatus: 'FILLED', skipReason: null }), null);
  });

  it('nothing recorded, or the exchange refused the order: the copy was lost', () => {
    assert.equal(signalDrift(open, { orderStatus: null, skipReason: null }), 'missed-open');
    assert.equal(signalDrift(open, { orderStatus: 'REJECTED', skipReason: null }), 'missed-open');
    assert.equal(signalDrift(close, { orderStatus: null, skipReason: null }), 'missed-close');
    assert.equal(signalDrift(close, { orderStatus: 'REJECTED', skipReason: null }), 'missed-close');
  });

  it('a filled open with its remainder canceled is a partial fill; a close is not completed', () => {
    assert.equal(
      signalDrift(open, { orderStatus: 'FILLED', skipReason: 'unfilled-remainder' }),
      'partial-fill',
    );
    assert.equal(signalDrift(close, { orderStatus: 'FILLED', skipReason: 'unfilled-remainder' }), null);
  });
});

describe('drift: what a lost or partial copy becomes', () => {
  it('a missed open within the bound: the copy sized now, an IOC limit at the bound of the trader fill, under its repair key', () => {
    const plan = planRepair(input({ market: { price: '50400', feeRate: '0.0005' } }));
    assert.equal(plan.action, 'order');
    if (plan.action !== 'order') return;
    const o = plan.order;
    assert.equal(o.signalId, 'drift/s1@t1');
    assert.equal(o.clientOrderId, 'drift/s1@t1:c1');
    assert.deepEqual([o.action, o.side, o.orderSide, o.qty, o.traderId], ['open', 'long', 'buy', '2', 't1']);
    // 50,000 × 1.01, rounded down to the tick: the bound is the trader's fill, not the price now
    assert.equal(o.limitPrice, '50500');
    assert.equal(repairKey('s1@t1'), 'drift/s1@t1');
  });

  it('a missed open past the bound: not placed, reported (price-moved)', () => {
    const plan = planRepair(input({ market: { price: '50600', feeRate: '0.0005' } }));
    assert.equal(plan.action, 'skip');
    if (plan.action !== 'skip') return;
    assert.deepEqual([plan.skip.reason, plan.outcome, plan.report], ['price-moved', 'beyond-bound', true]);
    assert.equal(plan.skip.signalId, 'drift/s1@t1');
    assert.match(plan.skip.detail, /^missed open not repaired: moved 0.012 from 50000, max 0.01$/);
  });

  it('a missed open the trader closed since: not placed', () => {
    const plan = planRepair(input({ superseded: true }));
    assert.equal(plan.action, 'skip');
    if (plan.action !== 'skip') return;
    assert.deepEqual(
      [plan.skip.reason, plan.outcome, plan.report],
      ['drift-superseded', 'superseded', false],
    );
  });

  it('a missed open sizing skips for another reason: that skip, recorded, not reported', () => {
    const poor: AccountSnapshot = {
      marginKind: 'single-currency',
      balances: { USDT: { available: '1', usdtValue: '1' } },
    };
    const plan = planRepair(input({ account: poor }));
    assert.equal(plan.action, 'skip');
    if (plan.action !== 'skip') return;
    assert.deepEqual(
      [plan.skip.reason, plan.outcome, plan.report],
      ['insufficient-balance', 'skipped', false],
    );
  });

  it('a missed close: the fraction of the slice, at market, whatever the price did', () => {
    const plan = planRepair(
      input({
        kind: 'missed-close',
        signal: close,
        slices: [slice({ qty: '4', avgEntryPrice: '50000' })],
        market: { price: '40000', feeRate: '0.0005' },
      }),
    );
    assert.equal(plan.action, 'order');
    if (plan.action !== 'order') return;
    assert.deepEqual(
      [plan.order.action, plan.order.orderSide, plan.order.qty, plan.order.reduceOnly, plan.order.limitPrice],
      ['close', 'sell', '2', true, undefined],
    );
    assert.equal(plan.order.clientOrderId, 'drift/s2@t1:c1');
  });

  it('a missed close with nothing left to close: recorded as no-slice', () => {
    const plan = planRepair(input({ kind: 'missed-close', signal: close }));
    assert.equal(plan.action, 'skip');
    if (plan.action !== 'skip') return;
    assert.deepEqual([plan.skip.reason, plan.outcome], ['no-slice', 'skipped']);
  });

  it('a partial fill within the bound: the remainder exactly, as an open at the same bound', () => {
    const plan = planRepair(
      input({
        kind: 'partial-fill',
        remainder: '1.5',
        slices: [slice({ qty: '0.5', avgEntryPrice: '50000' })],
      }),
    );
    assert.equal(plan.action, 'order');
    if (plan.action !== 'order') return;
    assert.deepEqual([plan.order.action, plan.order.qty, plan.order.limitPrice], ['open', '1.5', '50500']);
  });

  it('a partial fill past the bound: the slice stays at what filled (trimmed), not reported', () => {
    const plan = planRepair(
      input({ kind: 'partial-fill', remainder: '1.5', market: { price: '49000', feeRate: '0.0005' } }),
    );
    assert.equal(plan.action, 'skip');
    if (plan.action !== 'skip') return;
    assert.deepEqual([plan.skip.reason, plan.outcome, plan.report], ['price-moved', 'trimmed', false]);
    assert.match(plan.skip.detail, /^remainder 1.5 not completed, the slice stays at what filled: moved/);
  });
});

describe('drift: slices against exchange positions', () => {
  const s = (traderId: string, side: 'long' | 'short', qty: string, instrument = 'BTC-USDT-SWAP'): Slice => ({
    ...emptySlice({ copierId: 'c1', traderId, instrument, side }),
    qty,
  });

  it('one-way: the net of every trader slice against the net position; what agrees is no drift', () => {
    const slices = [s('t1', 'long', '3'), s('t2', 'short', '1'), s('kept/t1', 'long', '0.5')];
    assert.deepEqual(
      positionDrifts('one-way', slices, [{ instrument: 'BTC-USDT-SWAP', side: 'long', qty: '2.5' }]),
      [],
    );
    assert.deepEqual(positionDrifts('one-way', [], []), []);
    assert.deepEqual(positionDrifts('one-way', [s('t1', 'long', '0')], []), []);
  });

  it('one-way: a position closed by hand, or one the slices do not know', () => {
    assert.deepEqual(positionDrifts('one-way', [s('t1', 'long', '2')], []), [
      { instrument: 'BTC-USDT-SWAP', side: 'net', sliceQty: '2', exchangeQty: '0', diff: '-2' },
    ]);
    assert.deepEqual(
      positionDrifts('one-way', [], [{ instrument: 'ETH-USDT-SWAP', side: 'short', qty: '1' }]),
      [{ instrument: 'ETH-USDT-SWAP', side: 'net', sliceQty: '0', exchangeQty: '-1', diff: '-1' }],
    );
  });

  it('hedge: each side on its own', () => {
    const slices = [s('t1', 'long', '2'), s('t1', 'short', '1')];
    const held = [
      { instrument: 'BTC-USDT-SWAP', side: 'long' as const, qty: '2' },
      { instrument: 'BTC-USDT-SWAP', side: 'short' as const, qty: '0.4' },
    ];
    assert.deepEqual(positionDrifts('hedge', slices, held), [
      { instrument: 'BTC-USDT-SWAP', side: 'short', sliceQty: '1', exchangeQty: '0.4', diff: '-0.6' },
    ]);
  });
});

describe('drift: a side the lead no longer holds', () => {
  it('held: hedge sides apart, one-way by the net side the exchange lists', () => {
    const held = [{ instrument: 'BTC-USDT-SWAP', side: 'long' as const, qty: '1' }];
    assert.equal(leadHolds(held, 'BTC-USDT-SWAP', 'long'), true);
    assert.equal(leadHolds(held, 'BTC-USDT-SWAP', 'short'), false);
    assert.equal(leadHolds(held, 'ETH-USDT-SWAP', 'long'), false);
    assert.equal(leadHolds([], 'BTC-USDT-SWAP', 'long'), false);
  });

  it("the lead's last signal per instrument and side names the close", () => {
    const last = lastSignalBySide([
      { signalKey: 's1@t1', signal: open },
      { signalKey: 's3@t1', signal: { ...open, side: 'short' } },
      { signalKey: 's2@t1', signal: close },
    ]);
    assert.deepEqual(
      [...last],
      [
        ['BTC-USDT-SWAP|long', 's2@t1'],
        ['BTC-USDT-SWAP|short', 's3@t1'],
      ],
    );
    assert.equal(flatKey('s2@t1'), 'drift/flat/s2@t1');
  });

  it('the whole slice closed at market, reduce-only where it truly reduces', () => {
    const s = slice({ qty: '3', avgEntryPrice: '50000' });
    const o = leadFlatClose('s2@t1', follow, s, [s]);
    assert.deepEqual(
      [o.clientOrderId, o.signalId, o.action, o.orderSide, o.qty, o.reduceOnly, o.limitPrice],
      ['drift/flat/s2@t1:c1', 'drift/flat/s2@t1', 'close', 'sell', '3', true, undefined],
    );
  });
});

describe('drift: a position changed by hand', () => {
  const held = (qty: string) => slice({ qty, avgEntryPrice: '50000', fees: '2', heldFees: '2' });
  const drift = (sliceQty: string, exchangeQty: string, side: 'net' | 'long' = 'net') => ({
    instrument: 'BTC-USDT-SWAP',
    side,
    sliceQty,
    exchangeQty,
    diff: '0',
  });

  it('adopt, reduced by hand: the slice takes what the exchange holds, the closed part drops its held fees', () => {
    const [s] = manualChange('adopt', drift('2', '1.5'), [held('2')], undefined, '51000') ?? [];
    assert.deepEqual(
      [s?.traderId, s?.qty, s?.avgEntryPrice, s?.heldFees, s?.fees],
      ['t1', '1.5', '50000', '1.5', '2'],
    );
    const [gone] = manualChange('adopt', drift('2', '0'), [held('2')], undefined, '51000') ?? [];
    assert.deepEqual([gone?.qty, gone?.avgEntryPrice], ['0', '0']);
  });

  it('adopt, added to by hand: the addition enters at the price now', () => {
    const [s] = manualChange('adopt', drift('2', '3', 'long'), [held('2')], undefined, '53000') ?? [];
    assert.deepEqual([s?.qty, s?.avgEntryPrice], ['3', '51000']);
  });

  it('detach: what the exchange holds leaves the trader for the kept slice', () => {
    const out = manualChange('detach', drift('2', '1.5'), [held('2')], undefined, '51000');
    assert.deepEqual(
      out?.map((s) => [s.traderId, s.qty]),
      [
        ['t1', '0'],
        ['kept/t1', '1.5'],
      ],
    );
  });

  it('not attributable: two slices on it, a kept slice, or a flip of the side', () => {
    const other = { ...held('1'), traderId: 't2' };
    assert.equal(manualChange('adopt', drift('3', '2'), [held('2'), other], undefined, '1'), null);
    assert.equal(
      manualChange('adopt', drift('2', '1'), [{ ...held('2'), traderId: 'kept/t1' }], undefined, '1'),
      null,
    );
    assert.equal(manualChange('adopt', drift('2', '-1'), [held('2')], undefined, '1'), null);
  });
});
