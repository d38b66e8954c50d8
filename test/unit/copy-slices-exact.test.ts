import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decimal } from 'decimal.js';
import { profitShare } from '../../src/copytrade/domain/profit-share.js';
import {
  applyCloseFill,
  applyOpenFill,
  emptySlice,
  type Fill,
  type Slice,
} from '../../src/copytrade/domain/slices.js';
import { money, SCALE } from '../../src/domain/money.js';

/**
 * Slices are computed in scaled integers (fixed.ts) for speed; decimal.js states the same
 * rules plainly. Both must agree to the last place on every fill, gain or loss, rebate or fee.
 */
const avgOf = (s: Slice, f: Fill) =>
  money(s.qty).isZero()
    ? money(f.price)
    : money(s.qty)
        .mul(s.avgEntryPrice)
        .plus(money(f.qty).mul(f.price))
        .div(money(s.qty).plus(f.qty))
        .toDecimalPlaces(18, Decimal.ROUND_HALF_EVEN);

function expectedClose(s: Slice, f: Fill, contractSize: string) {
  const rest = money(s.qty).minus(f.qty);
  const perContract =
    s.side === 'long' ? money(f.price).minus(s.avgEntryPrice) : money(s.avgEntryPrice).minus(f.price);
  const gross = perContract.mul(f.qty).mul(contractSize).toDecimalPlaces(SCALE, Decimal.ROUND_DOWN);
  const feeShare = rest.isZero()
    ? money(s.heldFees)
    : money(s.heldFees).mul(f.qty).div(s.qty).toDecimalPlaces(SCALE, Decimal.ROUND_DOWN);
  const fees = feeShare.plus(f.fee);
  const pnl = gross.minus(fees);
  return {
    qty: rest.toFixed(),
    realisedPnl: money(s.realisedPnl).plus(pnl).toFixed(),
    heldFees: money(s.heldFees).minus(feeShare).toFixed(),
    grossPnl: gross.toFixed(),
    pnl: pnl.toFixed(),
  };
}

/** A small seeded generator: a failure is reproduced by its seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('slices in scaled integers agree with decimal arithmetic', () => {
  for (const [side, contractSize, seed] of [
    ['long', '0.01', 7],
    ['short', '0.01', 11],
    ['long', '0.1', 13],
    ['short', '1', 17],
  ] as const) {
    it(`${side}, contract size ${contractSize}: 2,000 random opens and closes`, () => {
      const r = rng(seed);
      const decimal = (max: number, places: number) => (r() * max).toFixed(places);
      let s = emptySlice({ copierId: 'c1', traderId: 't1', instrument: 'BTC-USDT-SWAP', side });
      let share = money(0);
      for (let i = 0; i < 2000; i++) {
        const price = decimal(90_000, 2);
        const fee = (r() < 0.1 ? '-' : '') + decimal(2, 8);
        if (money(s.qty).isZero() || r() < 0.5) {
          const f = { qty: (0.01 + Number(decimal(50, 2))).toFixed(2), price, fee };
          const avg = avgOf(s, f).toFixed();
          s = applyOpenFill(s, f);
          assert.equal(s.avgEntryPrice, avg, `open ${i}`);
        } else {
          // a whole close now and then: held fees must end at exactly zero
          const q =
            r() < 0.2 ? s.qty : money(s.qty).mul(r()).toDecimalPlaces(1, Decimal.ROUND_DOWN).toFixed();
          if (money(q).isZero()) continue;
          const f = { qty: q, price, fee };
          const want = expectedClose(s, f, contractSize);
          const got = applyCloseFill(s, f, contractSize);
          assert.deepEqual(
            {
              qty: got.slice.qty,
              realisedPnl: got.slice.realisedPnl,
              heldFees: got.slice.heldFees,
              grossPnl: got.grossPnl,
              pnl: got.pnl,
            },
            want,
            `close ${i}`,
          );
          if (got.slice.qty === '0') assert.equal(got.slice.heldFees, '0');
          const ratio = decimal(0.3, 4);
          const expectShare = money(got.pnl).gt(0)
            ? money(got.pnl).mul(ratio).toDecimalPlaces(SCALE, Decimal.ROUND_DOWN)
            : money(0);
          assert.equal(profitShare(got.pnl, ratio), expectShare.toFixed(), `share ${i}`);
          share = share.plus(expectShare);
          s = got.slice;
        }
      }
      assert.ok(share.gt(0), 'some closes were at a profit');
    });
  }
});
