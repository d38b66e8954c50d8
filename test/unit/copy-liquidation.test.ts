import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CopierLiquidation,
  liquidatedSlices,
  liquidateSlice,
  liquidationRequestKey,
  liquidationSliceKey,
  pairTraderOf,
} from '../../src/copytrade/domain/liquidation.js';
import { emptySlice, type Slice } from '../../src/copytrade/domain/slices.js';
import { decodeCopyEntry } from '../../src/copytrade/ingress/codec.js';
import { filterFillText, LeaderTable } from '../../src/copytrade/ingress/fill-filter.js';
import {
  decodeLiquidationEntry,
  encodeLiquidationEntry,
  mayBeRiskEvent,
  riskEventOf,
} from '../../src/copytrade/ingress/risk-events.js';

const BTC = 'BTC-USDT-SWAP';
const liq: CopierLiquidation = {
  fillId: '17-1',
  account: 'x1',
  instrument: BTC,
  side: 'long',
  qty: '3',
  price: '57000',
  leverage: 10,
  filledMs: 1_764_000_000_000,
};

const slice = (traderId: string, over: Partial<Slice> = {}): Slice => ({
  ...emptySlice({ copierId: 'x1', traderId, instrument: BTC, side: 'long' }),
  qty: '2',
  avgEntryPrice: '60000',
  fees: '0.6',
  heldFees: '0.6',
  ...over,
});

describe('copy trading: a copier liquidated', () => {
  it('ends the slices of the traders on the liquidated account, on the instrument; in hedge mode only on its side', () => {
    const slices = [
      slice('b'),
      slice('a'),
      slice('kept/a', { qty: '1' }),
      slice('a', { side: 'short', qty: '1' }),
      slice('a', { instrument: 'ETH-USDT-SWAP' }),
      slice('c'), // a lead followed on another account
      slice('b', { side: 'short', qty: '0' }),
    ];
    const traders = new Set(['a', 'b']);
    const ids = (s: Slice[]) => s.map((x) => `${x.traderId}/${x.side}`);
    assert.deepEqual(ids(liquidatedSlices(slices, traders, liq, 'one-way')), [
      'a/long',
      'a/short',
      'b/long',
      'kept/a/long',
    ]);
    assert.deepEqual(ids(liquidatedSlices(slices, traders, liq, 'hedge')), [
      'a/long',
      'b/long',
      'kept/a/long',
    ]);
    assert.equal(pairTraderOf(slice('kept/a')), 'a');
  });

  it('closes a slice whole at the liquidation price: its PnL net of the held open fees, no fee of its own; a loss accrues no share', () => {
    const c = liquidateSlice(liq, slice('a', { realisedPnl: '5' }), '0.01', '0.1', '0.5');
    // (57000 − 60000) × 2 × 0.01 = −60, less the held 0.6
    assert.equal(c.pnl, '-60.6');
    assert.deepEqual(
      [c.after.qty, c.after.avgEntryPrice, c.after.realisedPnl, c.after.heldFees, c.after.fees],
      ['0', '0', '-55.6', '0', '0.6'],
    );
    assert.deepEqual([c.share, c.shareAccrued], ['0', '0.5']);
    assert.equal(c.key, 'liq/17-1/BTC-USDT-SWAP/L@a');
    assert.equal(liquidationRequestKey(liq, 'x1'), 'liq/17-1@x1');
  });

  it('a profit accrues the lead its share, except on a kept slice (no longer the trader’s)', () => {
    const short = { ...liq, side: 'short' as const };
    const own = liquidateSlice(short, slice('a', { side: 'short' }), '0.01', '0.1', '1');
    // (60000 − 57000) × 2 × 0.01 − 0.6 = 59.4; 10% of it
    assert.deepEqual([own.pnl, own.share, own.shareAccrued], ['59.4', '5.94', '6.94']);
    const kept = liquidateSlice(short, slice('kept/a', { side: 'short' }), '0.01', '0.1', '0');
    assert.deepEqual([kept.pnl, kept.share], ['59.4', '0']);
    assert.equal(liquidationSliceKey(short, kept.before), 'liq/17-1/BTC-USDT-SWAP/S@kept/a');
  });
});

describe('copy ingress: risk events', () => {
  const fill = {
    type: 'fill',
    account: 'x1',
    instrument: BTC,
    side: 'long',
    action: 'close',
    qty: '3',
    price: '57000',
    leverage: 10,
    positionBefore: '3',
    clientOrderId: 'liq-1',
    filledMs: 1_764_000_000_000,
    fillId: '17-1',
    liquidation: true,
  };

  it('reads a liquidation fill of any account and a margin change; other events are none', () => {
    assert.ok(mayBeRiskEvent(JSON.stringify(fill)));
    assert.ok(!mayBeRiskEvent(JSON.stringify({ ...fill, liquidation: undefined })));
    assert.deepEqual(riskEventOf(fill), { kind: 'liquidation', liquidation: liq });
    assert.equal(riskEventOf({ ...fill, liquidation: undefined }), undefined);
    assert.deepEqual(riskEventOf({ ...fill, action: 'open' }), {
      error: 'liquidation: only a close is a liquidation',
    });
    assert.deepEqual(riskEventOf({ ...fill, qty: '-1' }), {
      error: 'liquidation.qty: expected a positive decimal string',
    });
    const margin = {
      type: 'margin',
      account: 'lead',
      instrument: BTC,
      side: 'long',
      added: '100',
      margin: '700',
      liquidationPrice: '53300',
      atMs: 1_764_000_000_000,
      eventId: 'm-1',
    };
    assert.deepEqual(riskEventOf(margin), {
      kind: 'margin',
      margin: {
        eventId: 'm-1',
        account: 'lead',
        instrument: BTC,
        side: 'long',
        margin: '700',
        liquidationPrice: '53300',
        atMs: 1_764_000_000_000,
      },
    });
    assert.deepEqual(riskEventOf({ ...margin, liquidationPrice: 'low' }), {
      error: 'margin.liquidationPrice: expected a decimal string ≥ 0',
    });
  });

  it('a copier liquidation travels the signal stream as field l, and back', () => {
    const entry = { liquidation: liq, receivedMs: 1_764_000_000_123 };
    const fields = encodeLiquidationEntry(entry);
    assert.equal(fields[0], 'l');
    assert.deepEqual(decodeCopyEntry(fields), entry);
    assert.deepEqual(decodeLiquidationEntry('[1]'), { error: 'field l is not an array of 9' });
    assert.deepEqual(decodeCopyEntry(['l', '{']), { error: 'field l is not JSON' });
  });

  it("a frames lead's liquidation fill is its signal (its frames cannot tell one); its other fills are dropped", () => {
    const leaders = new LeaderTable([
      { account: 'f', traderId: 'lead-f', instruments: [BTC], signalSource: 'frames' },
    ]);
    const own = { ...fill, account: 'f' };
    const v = filterFillText(JSON.stringify(own), leaders);
    assert.equal(v.kind, 'signal');
    assert.equal(v.kind === 'signal' && v.signal.liquidation, true);
    assert.deepEqual(filterFillText(JSON.stringify({ ...own, liquidation: undefined }), leaders), {
      kind: 'drop',
      reason: 'frames-lead',
    });
  });
});
