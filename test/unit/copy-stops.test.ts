import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { slicesToClose } from '../../src/copytrade/domain/close-out.js';
import { fx } from '../../src/copytrade/domain/fixed.js';
import type { FollowSettings } from '../../src/copytrade/domain/settings.js';
import type { PositionSide } from '../../src/copytrade/domain/signal.js';
import { applyOpenFill, emptySlice, keptTraderId, type Slice } from '../../src/copytrade/domain/slices.js';
import { stopReachedWhileFlat } from '../../src/copytrade/domain/stop-resume.js';
import {
  equityFloor,
  type FollowView,
  followTriggers,
  pairPnl,
  sliceHit,
  triggerRequestId,
  unrealisedPnl,
  utcDay,
} from '../../src/copytrade/domain/stops.js';
import { decodeCopyEntry, encodeCloseOutEntry } from '../../src/copytrade/ingress/codec.js';
import { money } from '../../src/domain/money.js';

const BTC = 'BTC-USDT-SWAP';
const ETH = 'ETH-USDT-SWAP';
/** BTC: 0.01 BTC per contract, tick 0.1; ETH: 0.1 ETH, tick 0.01 */
const RULES: Record<string, { contractSize: string; tick: string }> = {
  [BTC]: { contractSize: '0.01', tick: '0.1' },
  [ETH]: { contractSize: '0.1', tick: '0.01' },
};

const slice = (
  side: PositionSide,
  qty: string,
  entry: string,
  over: Partial<Slice> = {},
  instrument = BTC,
  traderId = 'A',
): Slice => ({
  ...emptySlice({ copierId: 'c1', traderId, instrument, side }),
  qty,
  avgEntryPrice: qty === '0' ? '0' : entry,
  ...over,
});

const followOf = (over: Partial<FollowSettings> = {}): FollowSettings => ({
  copierId: 'c1',
  traderId: 'A',
  account: { type: 'main' },
  sizing: { mode: 'fixed-amount', margin: '100' },
  leverage: 'trader',
  marginMode: 'cross',
  positionMode: 'hedge',
  instruments: [BTC, ETH],
  maxPositionValue: '1000000',
  status: 'active',
  ...over,
});

const view = (
  follow: FollowSettings,
  slices: Slice[],
  prices: Record<string, string>,
  over: Partial<FollowView> = {},
): FollowView => ({
  follow,
  slices,
  markOf: (i) => {
    const p = prices[i];
    const r = RULES[i];
    return p === undefined || r === undefined
      ? undefined
      : { price: fx(p), contractSize: fx(r.contractSize), tick: fx(r.tick) };
  },
  leverageOf: () => 10,
  day: '20261203',
  ...over,
});

describe('copier stops: take profit and stop loss per slice', () => {
  // a long from 50000 at 10×: +50% of margin at +5% (52500), −20% at −2% (49000)
  const long = slice('long', '2', '50000');
  const tpsl = followOf({ takeProfitRatio: '0.5', stopLossRatio: '0.2' });

  it('a long takes profit at or above its price, stops at or below; nothing in between', () => {
    const at = (p: string) => followTriggers(view(tpsl, [long], { [BTC]: p })).map((t) => t.kind);
    assert.deepEqual(at('52499.9'), []);
    assert.deepEqual(at('52500'), ['tp']);
    assert.deepEqual(at('60000'), ['tp']);
    assert.deepEqual(at('49000.1'), []);
    assert.deepEqual(at('49000'), ['sl']);
    assert.deepEqual(at('30000'), ['sl']);
  });

  it('a short the other way round; the trigger names its slice and does not pause', () => {
    const short = slice('short', '1', '50000');
    const at = (p: string) => followTriggers(view(tpsl, [short], { [BTC]: p }));
    assert.deepEqual(
      at('47500').map((t) => [t.kind, t.slice, t.pause]),
      [['tp', { instrument: BTC, side: 'short' }, false]],
    );
    assert.deepEqual(at('47500.1'), []);
    assert.deepEqual(
      at('51000').map((t) => t.kind),
      ['sl'],
    );
    assert.match(
      at('51000')[0]?.detail ?? '',
      /short 1 BTC-USDT-SWAP from 50000 at 10×: mark 51000 reached stop-loss 51000/,
    );
  });

  it("the leverage is the position's: at 5× the same ratios are twice as far", () => {
    const at5 = (p: string) =>
      followTriggers(view(tpsl, [long], { [BTC]: p }, { leverageOf: () => 5 })).map((t) => t.kind);
    assert.deepEqual(at5('52500'), []);
    assert.deepEqual(at5('55000'), ['tp']);
    assert.deepEqual(at5('48000'), ['sl']);
    // no leverage known, no mark: nothing decided
    assert.deepEqual(
      followTriggers(view(tpsl, [long], { [BTC]: '60000' }, { leverageOf: () => undefined })),
      [],
    );
    assert.deepEqual(followTriggers(view(tpsl, [long], { [ETH]: '60000' })), []);
  });

  it('one trigger per slice hit, a kept slice and a closed one never', () => {
    const slices = [
      long,
      slice('long', '1', '3000', {}, ETH),
      slice('long', '5', '40000', {}, BTC, keptTraderId('A')),
      slice('short', '0', '0'),
    ];
    const t = followTriggers(view(tpsl, slices, { [BTC]: '60000', [ETH]: '3000' }));
    assert.deepEqual(
      t.map((x) => [x.kind, x.slice?.instrument]),
      [['tp', BTC]],
    );
  });

  it('a stopped follow has no triggers, a paused one has (its closes still follow)', () => {
    const at = (status: FollowSettings['status']) =>
      followTriggers(view({ ...tpsl, status }, [long], { [BTC]: '60000' })).length;
    assert.equal(at('stopped'), 0);
    assert.equal(at('paused'), 1);
  });

  it('sliceHit: a take profit first where both are reached (a stop past the take profit cannot be set, but be safe)', () => {
    assert.equal(sliceHit('long', { takeProfit: 10n, stopLoss: 20n }, 15n), 'tp');
    assert.equal(sliceHit('short', {}, 15n), null);
  });
});

describe('copier stops: request ids', () => {
  const tp = followOf({ takeProfitRatio: '0.5' });
  const id = (s: Slice) => followTriggers(view(tp, [s], { [BTC]: '60000' }))[0]?.requestId;

  it('the same slice seen twice (or after a restart) gives the same id; a fill in between a new one', () => {
    const s = slice('long', '2', '50000', { fees: '1', heldFees: '1' });
    const a = id(s);
    assert.match(a ?? '', /^tp-[0-9a-f]{32}$/);
    assert.equal(id({ ...s }), a);
    const grown = applyOpenFill(s, { qty: '1', price: '50000', fee: '0.5' });
    assert.notEqual(id(grown), a);
    // opened again after a close, at the same entry and size: its cumulative PnL and fees differ
    assert.notEqual(id({ ...s, realisedPnl: '-3', fees: '2' }), a);
  });

  it('differs by kind, follow and day, and fits a close-out request id', () => {
    const s = [slice('long', '1', '1')];
    const ids = [
      triggerRequestId('tp', 'c1|A', s),
      triggerRequestId('sl', 'c1|A', s),
      triggerRequestId('eq', 'c1|A', s),
      triggerRequestId('eq', 'c2|A', s),
      triggerRequestId('day', 'c1|A', s, '20261203'),
      triggerRequestId('day', 'c1|A', s, '20261204'),
    ];
    assert.equal(new Set(ids).size, ids.length);
    for (const x of ids) assert.match(x, /^[A-Za-z0-9_.-]{1,64}$/);
    // the order the slices are listed in does not matter
    const two = [slice('long', '1', '1'), slice('short', '2', '2')];
    assert.equal(triggerRequestId('eq', 'c1|A', two), triggerRequestId('eq', 'c1|A', [...two].reverse()));
  });
});

describe('copier stops: equity stop', () => {
  // the example: 100 USDT copied with a 60% stop closes every slice at 40 USDT of equity
  const eq = followOf({ copyFunds: '100', equityStopRatio: '0.6', takeProfitRatio: '0.01' });

  it('copy equity = funds + realised of the pair + unrealised at mark less held fees', () => {
    // long 10 contracts × 0.01 BTC from 50000: −50 USDT at 49500; open fees 0.25 still held
    const open = slice('long', '10', '50000', { heldFees: '0.25', fees: '0.25' });
    const closed = slice('short', '0', '0', { realisedPnl: '-9.75' }, ETH);
    const markOf = view(eq, [], { [BTC]: '49500' }).markOf;
    assert.equal(unrealisedPnl(open, markOf(BTC) as never), fx('-50.25'));
    assert.equal(pairPnl([open, closed], markOf), fx('-60'));
    assert.equal(
      pairPnl([open], () => undefined),
      undefined,
    );
    assert.equal(equityFloor('100', '0.6'), fx('40'));
  });

  it('at 40 USDT every slice of the lead is closed and the follow paused; above, nothing', () => {
    const slices = [
      slice('long', '10', '50000', { heldFees: '0.25', fees: '0.25' }),
      slice('short', '0', '0', { realisedPnl: '-9.75' }, ETH),
      slice('long', '1', '3000', {}, ETH),
      slice('long', '1', '3000', {}, ETH, 'B'),
    ];
    const at = (btc: string) => followTriggers(view(eq, slices, { [BTC]: btc, [ETH]: '3000' }));
    assert.deepEqual(at('49500.1'), []);
    const [t, ...more] = at('49500');
    assert.deepEqual(more, []);
    assert.equal(t?.kind, 'eq');
    assert.equal(t?.pause, true);
    assert.equal(t?.slice, undefined);
    assert.match(t?.requestId ?? '', /^eq-[0-9a-f]{32}$/);
    assert.match(t?.detail ?? '', /copy equity 40 USDT at or below 40 \(100 × \(1 − 0.6\)\)/);
    // another trader's slice is no part of this follow's equity
    const withoutB = followTriggers(view(eq, slices.slice(0, 3), { [BTC]: '49500', [ETH]: '3000' }));
    assert.equal(withoutB[0]?.requestId, t?.requestId);
  });

  it('counts the slices kept from the lead; nothing triggers without an open slice', () => {
    const kept = slice('long', '10', '50000', {}, BTC, keptTraderId('A'));
    assert.equal(followTriggers(view(eq, [kept], { [BTC]: '49000' }))[0]?.kind, 'eq');
    const flat = slice('long', '0', '0', { realisedPnl: '-90' });
    assert.deepEqual(followTriggers(view(eq, [flat], { [BTC]: '49000' })), []);
  });
});

describe('copier stops: daily loss limit', () => {
  const day = followOf({ dailyLossLimit: '30' });
  // realised today −20 (cumulative −120 against a base of −100), unrealised −10 at 49900
  const slices = [slice('long', '10', '50000'), slice('short', '0', '0', { realisedPnl: '-120' }, ETH)];
  const at = (btc: string, dayBase: bigint | undefined) =>
    followTriggers(view(day, slices, { [BTC]: btc }, dayBase === undefined ? {} : { dayBase }));

  it('realised today + the change of the unrealised reaching the limit closes and pauses', () => {
    assert.deepEqual(at('49900.1', fx('-100')), []);
    const [t] = at('49900', fx('-100'));
    assert.deepEqual([t?.kind, t?.pause, t?.slice], ['day', true, undefined]);
    assert.match(t?.requestId ?? '', /^day-20261203-[0-9a-f]{32}$/);
    assert.match(t?.detail ?? '', /lost 30 USDT today \(UTC 20261203\), limit 30/);
  });

  it("the day's base is the PnL when the day began: a loss before it does not count", () => {
    assert.deepEqual(at('49900', fx('-130')), []);
    // no base known yet: not decided
    assert.deepEqual(at('40000', undefined), []);
  });

  it('utcDay: the UTC date', () => {
    assert.equal(utcDay(Date.UTC(2026, 11, 3, 23, 59, 59)), '20261203');
    assert.equal(utcDay(Date.UTC(2026, 11, 4, 0, 0, 0)), '20261204');
  });
});

describe('copier stops: the close-out request of a trigger', () => {
  it('names one slice; the fan-out closes only the trader’s slice there', () => {
    const slices = [
      slice('long', '2', '50000'),
      slice('short', '1', '50000'),
      slice('long', '3', '50000', {}, BTC, keptTraderId('A')),
    ];
    assert.deepEqual(
      slicesToClose(slices, 'A', { instrument: BTC, side: 'long' }).map((s) => [s.traderId, s.side, s.qty]),
      [['A', 'long', '2']],
    );
    assert.equal(slicesToClose(slices, 'A').length, 3);
  });

  it('travels on the stream with its slice, and a malformed one is refused with a reason', () => {
    const r = {
      requestId: 'tp-ab',
      copierId: 'c1',
      traderId: 'A',
      requestedMs: 5,
      slice: { instrument: BTC, side: 'short' as const },
    };
    assert.deepEqual(decodeCopyEntry(encodeCloseOutEntry(r)), { closeOut: r });
    const { slice: _s, ...whole } = r;
    assert.deepEqual(decodeCopyEntry(encodeCloseOutEntry(whole)), { closeOut: whole });
    assert.deepEqual(decodeCopyEntry(['c', JSON.stringify(['r', 'c1', 'A', 5, BTC, 'up'])]), {
      error: 'field c: bad side up',
    });
    assert.deepEqual(decodeCopyEntry(['c', JSON.stringify(['r', 'c1', 'A', 5, 'btc', 'long'])]), {
      error: 'field c: bad instrument',
    });
    assert.ok('error' in decodeCopyEntry(['c', JSON.stringify(['r', 'c1', 'A', 5, BTC])]));
  });
});

describe('copier stops: the prepared bounds decide as the PnL computed out in full', () => {
  it('over many random pairs and marks (seeded), an equity stop and a daily loss limit trigger exactly when they should', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const dec = (units: number, places: number) =>
      money(units)
        .div(10 ** places)
        .toFixed();
    let eqs = 0;
    let days = 0;
    for (let k = 0; k < 400; k++) {
      const f = followOf({ copyFunds: '100', equityStopRatio: '0.5', dailyLossLimit: '20' });
      const pair = [
        slice(rnd(2) ? 'long' : 'short', dec(1 + rnd(300), 2), dec(4_900_000 + rnd(200_000), 2), {
          realisedPnl: dec(rnd(4000) - 3000, 2),
          heldFees: dec(rnd(100), 3),
        }),
        slice(
          'long',
          dec(1 + rnd(300), 2),
          dec(290_000 + rnd(20_000), 2),
          { heldFees: dec(rnd(100), 3) },
          ETH,
        ),
      ];
      const prices: Record<string, string> = {
        [BTC]: dec(480_000 + rnd(40_000), 1),
        [ETH]: dec(280_000 + rnd(40_000), 2),
      };
      const dayBase = dec(rnd(4000) - 3000, 2);
      // the same figures with decimal.js, no rounding
      let pnl = money(0);
      for (const s of pair) {
        const p = money(prices[s.instrument] as string);
        const per = s.side === 'long' ? p.minus(s.avgEntryPrice) : money(s.avgEntryPrice).minus(p);
        const size = (RULES[s.instrument] as { contractSize: string }).contractSize;
        pnl = pnl.plus(s.realisedPnl).plus(per.times(s.qty).times(size)).minus(s.heldFees);
      }
      const wantEq = money(100).plus(pnl).lte(50);
      const wantDay = !wantEq && money(dayBase).minus(pnl).gte(20);
      const [t] = followTriggers(view(f, pair, prices, { dayBase: fx(dayBase) }));
      assert.equal(t?.kind === 'eq', wantEq, `case ${k}: equity ${money(100).plus(pnl).toFixed()}`);
      assert.equal(t?.kind === 'day', wantDay, `case ${k}: loss ${money(dayBase).minus(pnl).toFixed()}`);
      if (wantEq) eqs++;
      if (wantDay) days++;
    }
    // the cases reach both sides of both stops
    assert.ok(eqs > 20 && eqs < 380, `eq ${eqs}`);
    assert.ok(days > 20 && days < 380, `day ${days}`);
  });
});

describe('copier stops: copying again while a follow stop is reached', () => {
  const f = followOf({ copyFunds: '100', equityStopRatio: '0.6', dailyLossLimit: '20' });
  it('the equity of a flat follow is its funds and realised PnL; refused at or below the floor', () => {
    assert.equal(stopReachedWhileFlat(f, fx('-59.99'), undefined, '20261203'), null);
    const r = stopReachedWhileFlat(f, fx('-60'), undefined, '20261203');
    assert.equal(r?.code, 'EQUITY_STOP_REACHED');
    assert.match(r?.message ?? '', /copy equity 40 USDT is at or below the equity stop's 40/);
    // more funds allotted: copies again
    assert.equal(stopReachedWhileFlat({ ...f, copyFunds: '200' }, fx('-60'), undefined, '20261203'), null);
  });
  it("the day's loss of a flat follow is its base less its realised PnL; refused at the limit, not without a base", () => {
    assert.equal(stopReachedWhileFlat(f, fx('-30'), fx('-10.01'), '20261203'), null);
    assert.equal(stopReachedWhileFlat(f, fx('-30'), fx('-10'), '20261203')?.code, 'DAILY_LOSS_LIMIT_REACHED');
    assert.equal(stopReachedWhileFlat(f, fx('-30'), undefined, '20261203'), null);
    assert.equal(stopReachedWhileFlat(followOf(), fx('-1000'), fx('0'), '20261203'), null);
  });
});
