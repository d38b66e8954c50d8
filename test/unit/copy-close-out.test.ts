import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeOutOrder, closeOutRequestKey, slicesToClose } from '../../src/copytrade/domain/close-out.js';
import { clientOrderId, MAX_CLIENT_ORDER_ID } from '../../src/copytrade/domain/copy-order.js';
import { fx } from '../../src/copytrade/domain/fixed.js';
import type { FollowSettings, PositionMode } from '../../src/copytrade/domain/settings.js';
import type { PositionSide } from '../../src/copytrade/domain/signal.js';
import { detachSlice, emptySlice, keptTraderId, type Slice } from '../../src/copytrade/domain/slices.js';
import { checkSignal } from '../../src/copytrade/ingress/signal-schema.js';

const INST = 'BTC-USDT-SWAP';
const slice = (traderId: string, side: PositionSide, qty: string, instrument = INST): Slice => ({
  ...emptySlice({ copierId: 'c1', traderId, instrument, side }),
  qty,
  avgEntryPrice: qty === '0' ? '0' : '50000',
});
const followOf = (traderId: string, positionMode: PositionMode): FollowSettings => ({
  copierId: 'c1',
  traderId,
  account: { type: 'sub', subAccount: 'copy' },
  sizing: { mode: 'fixed-ratio', ratio: '1' },
  leverage: 'trader',
  marginMode: 'isolated',
  positionMode,
  instruments: [INST],
  maxPositionValue: '1000000',
  maxSlippage: '0.01',
  status: 'stopped',
});

describe('close-out: a stopping copier closes its slices of one trader', () => {
  it("takes only that trader's open slices, in a stable order", () => {
    const slices = [
      slice('A', 'short', '1', 'ETH-USDT-SWAP'),
      slice('B', 'long', '3'),
      slice('A', 'long', '2'),
      slice('A', 'short', '0'),
    ];
    assert.deepEqual(
      slicesToClose(slices, 'A').map((s) => `${s.instrument} ${s.side} ${s.qty}`),
      ['BTC-USDT-SWAP long 2', 'ETH-USDT-SWAP short 1'],
    );
    assert.deepEqual(slicesToClose(slices, 'C'), []);
  });

  it("with the slices kept from that trader's liquidations", () => {
    const kept = { ...slice(keptTraderId('A'), 'long', '1'), traderId: 'kept/A' };
    assert.deepEqual(
      slicesToClose([slice('A', 'long', '0'), kept, slice('kept/B', 'long', '1')], 'A').map(
        (s) => s.traderId,
      ),
      ['kept/A'],
    );
  });

  it('hedge: a reduce-only close of the whole slice on its own side, keyed per slice', () => {
    const s = slice('A', 'short', '1.5');
    const o = closeOutOrder('r1', followOf('A', 'hedge'), s, [s]);
    assert.deepEqual(
      [o.action, o.side, o.orderSide, o.posSide, o.qty, o.reduceOnly, o.margin, o.leverage],
      ['close', 'short', 'buy', 'short', '1.5', true, '0', null],
    );
    assert.equal(o.signalId, `stop/r1/${INST}/S@A`);
    assert.equal(o.clientOrderId, `stop/r1/${INST}/S@A:c1`);
    assert.deepEqual(o.account, { type: 'sub', subAccount: 'copy' });
    assert.equal(o.marginMode, 'isolated');
  });

  it("one-way: reduce-only only where the close truly reduces the net, not where B's slice outweighs it", () => {
    const a = slice('A', 'long', '2');
    // net +2 - 1 = +1: selling A's 2 crosses the net, so it must open exposure: no reduce-only
    const crossing = closeOutOrder('r1', followOf('A', 'one-way'), a, [a, slice('B', 'short', '1')]);
    assert.deepEqual([crossing.orderSide, crossing.posSide, crossing.reduceOnly], ['sell', 'net', false]);
    // net +2 + 3 = +5: selling 2 reduces it
    const reducing = closeOutOrder('r1', followOf('A', 'one-way'), a, [a, slice('B', 'long', '3')]);
    assert.deepEqual([reducing.orderSide, reducing.reduceOnly], ['sell', true]);
  });

  it('the request is recorded under a key no trader signal can have: signal ids hold no /', () => {
    const key = closeOutRequestKey({ requestId: 'r1', copierId: 'c1', traderId: 'A', requestedMs: 1 });
    assert.equal(key, 'stop/r1@A');
    const asSignal = checkSignal({
      signalId: 'stop/r1',
      traderId: 'A',
      instrument: INST,
      action: 'open',
      side: 'long',
      qty: '1',
      price: '1',
      leverage: 1,
      positionBefore: '0',
      filledMs: 1,
    });
    assert.equal(asSignal.ok ? null : asSignal.error.path, 'signalId');
  });
});

describe("liquidation kept by the lead: the copier's slice leaves the trader", () => {
  const a = {
    ...slice('A', 'long', '2'),
    avgEntryPrice: '100',
    fees: '0.5',
    heldFees: '0.2',
    realisedPnl: '7',
  };

  it('a whole liquidation moves quantity, entry and held fees to the kept slice; PnL stays with the trader', () => {
    const { left, kept } = detachSlice(a, undefined, fx('2'));
    assert.deepEqual(
      [left.traderId, left.qty, left.avgEntryPrice, left.heldFees, left.fees, left.realisedPnl],
      ['A', '0', '0', '0', '0.3', '7'],
    );
    assert.deepEqual(
      [kept.traderId, kept.qty, kept.avgEntryPrice, kept.heldFees, kept.fees, kept.realisedPnl],
      ['kept/A', '2', '100', '0.2', '0.2', '0'],
    );
  });

  it('merges into what an earlier liquidation kept, entry weighted by quantity', () => {
    const earlier = detachSlice(
      { ...a, qty: '1', avgEntryPrice: '130', heldFees: '0.1' },
      undefined,
      fx('1'),
    ).kept;
    const { kept } = detachSlice(a, earlier, fx('2'));
    assert.deepEqual([kept.qty, kept.avgEntryPrice, kept.heldFees, kept.fees], ['3', '110', '0.3', '0.3']);
  });

  it('a partial liquidation moves only that part, with its share of the held fees', () => {
    const { left, kept } = detachSlice({ ...a, heldFees: '0.3' }, undefined, fx('0.5'));
    assert.deepEqual(
      [left.qty, left.avgEntryPrice, left.heldFees, left.fees],
      ['1.5', '100', '0.225', '0.425'],
    );
    assert.deepEqual(
      [kept.qty, kept.avgEntryPrice, kept.heldFees, kept.fees],
      ['0.5', '100', '0.075', '0.075'],
    );
    assert.throws(() => detachSlice(a, undefined, fx('2.1')), RangeError);
  });
});

describe('client order ids', () => {
  it('readable while the exchange takes them; a digest, as stable, when too long', () => {
    assert.equal(clientOrderId('s1@lead', 'c1'), 's1@lead:c1');
    const long = `${'s'.repeat(64)}@${'t'.repeat(64)}`;
    const a = clientOrderId(long, 'c'.repeat(64));
    assert.match(a, /^h:[A-Za-z0-9_-]{43}$/);
    assert.ok(a.length <= MAX_CLIENT_ORDER_ID);
    assert.equal(clientOrderId(long, 'c'.repeat(64)), a);
    assert.notEqual(clientOrderId(long, `${'c'.repeat(63)}d`), a);
    // exactly at the limit it stays readable
    const fits = clientOrderId('s'.repeat(MAX_CLIENT_ORDER_ID - 3), 'c1');
    assert.equal(fits.length, MAX_CLIENT_ORDER_ID);
    assert.ok(fits.endsWith(':c1'));
  });
});
