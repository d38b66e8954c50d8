import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FilledOrder, OrderOutcome, RejectedOrder } from '../../src/clients/exchange-wire.js';
import { Money } from '../../src/domain/money.js';
import { Rejected } from '../../src/sim/errors.js';
import { ExchangeEngine } from '../../src/sim/exchange/engine.js';
import { fillEvents } from '../../src/sim/exchange/events.js';
import { divRound, formatUnits, ONE, parseUnits } from '../../src/sim/exchange/fixed.js';
import { fillPrice, INSTRUMENTS, qtyProblem, RULES } from '../../src/sim/exchange/instruments.js';
import { ExchangeLedger } from '../../src/sim/exchange/ledger.js';
import { parseAccount, parseLeverage, parseOrder } from '../../src/sim/exchange/requests.js';

const BTC = 'BTC-USDT-SWAP';

/** An engine on a price the test moves: BTC 60000, ETH 3000, 2 bps slippage, 0.05% fee. */
function world(opts: { feeRate?: string; slippageBps?: number } = {}) {
  const prices = { BTC: new Money('60000'), ETH: new Money('3000') };
  const engine = new ExchangeEngine({
    feeRate: opts.feeRate ?? '0.0005',
    slippageBps: opts.slippageBps ?? 2,
    price: (asset) => prices[asset],
    now: () => 1_764_000_000_000,
  });
  let seq = 0;
  const account = (id: string, usdt: string, positionMode?: 'one-way' | 'hedge') =>
    engine.createAccount(parseAccount({ account: id, balances: { USDT: usdt }, positionMode }));
  const order = (o: Record<string, unknown>): OrderOutcome =>
    engine.place(parseOrder({ instrument: BTC, clientOrderId: `o${++seq}`, ...o }));
  const setPrice = (asset: 'BTC' | 'ETH', price: string) => {
    prices[asset] = new Money(price);
  };
  return { engine, account, order, setPrice };
}

function filled(r: OrderOutcome): FilledOrder {
  assert.equal(r.status, 'filled', r.status === 'rejected' ? `${r.code}: ${r.message}` : '');
  return r as FilledOrder;
}

function rejected(r: OrderOutcome, code: string): RejectedOrder {
  assert.equal(r.status, 'rejected', `expected ${code}, got a fill`);
  assert.equal((r as RejectedOrder).code, code, (r as RejectedOrder).message);
  return r as RejectedOrder;
}

function conserved(engine: ExchangeEngine) {
  const view = engine.ledgerView();
  assert.deepEqual(view.problems, []);
  assert.equal(view.conserved, true);
  assert.deepEqual(view.totals, view.deposits);
  assert.equal(view.duplicatedClientOrderIds, 0);
  return view;
}

describe('sim exchange', () => {
  describe('ledger', () => {
    it('counts client order ids booked more than once, per account, from the journal', () => {
      const ledger = new ExchangeLedger();
      for (const account of ['a', 'b']) {
        ledger.open(account);
        ledger.deposit(account, new Map([['USDT', 100n * ONE]]));
      }
      ledger.settleFill('a', 'x', ONE, 0n);
      ledger.settleFill('b', 'x', ONE, 0n);
      assert.equal(ledger.doubleEffects(), 0);
      ledger.settleFill('a', 'x', ONE, 2n * ONE);
      assert.equal(ledger.doubleEffects(), 1);
      ledger.settleFill('a', 'x', ONE, 0n);
      assert.equal(ledger.doubleEffects(), 1);
      ledger.settleFill('b', 'x', ONE, 0n);
      assert.equal(ledger.doubleEffects(), 2);
      assert.equal(ledger.journalEntries, 7);
      const audit = ledger.audit();
      assert.deepEqual(audit.problems, []);
      assert.deepEqual(audit.fees, { USDT: '5' });
      assert.deepEqual(audit.house, { USDT: '-2' });
      assert.deepEqual(audit.totals, { USDT: '200' });
    });
  });

  describe('fixed-point units', () => {
    it('parses and prints decimal strings exactly, to 8 places', () => {
      for (const s of ['0', '1', '0.5', '60012.3', '-0.00000001', '123456789012.12345678']) {
        assert.equal(formatUnits(parseUnits(s) ?? 0n), s);
      }
      assert.equal(formatUnits(parseUnits('1.50000000000') ?? 0n), '1.5');
      assert.equal(parseUnits('0.000000001'), undefined);
      assert.equal(parseUnits('1e5'), undefined);
      assert.equal(parseUnits(''), undefined);
    });

    it('rounds a division as asked, negatives included', () => {
      assert.deepEqual(
        [7n, -7n].map((n) => ['floor', 'ceil', 'down', 'halfUp'].map((r) => divRound(n, 2n, r as 'floor'))),
        [
          [3n, 4n, 3n, 4n],
          [-4n, -3n, -3n, -4n],
        ],
      );
      assert.equal(divRound(5n, 3n, 'halfUp'), 2n);
      assert.equal(divRound(6n, 3n, 'ceil'), 2n);
    });

    it('rounds like exact rational arithmetic, exact quotients and halves included', () => {
      for (let n = -40; n <= 40; n++) {
        for (let d = 1; d <= 8; d++) {
          const exact = n / d; // small integers: exact enough to tell ties and whole quotients
          const halfUp = Math.sign(exact) * Math.floor(Math.abs(exact) + 0.5);
          const expected = {
            floor: Math.floor(exact),
            ceil: Math.ceil(exact),
            down: Math.trunc(exact),
            halfUp,
          };
          for (const [rounding, q] of Object.entries(expected)) {
            assert.equal(
              divRound(BigInt(n), BigInt(d), rounding as 'floor'),
              BigInt(q),
              `${n}/${d} ${rounding}`,
            );
          }
        }
      }
    });
  });

  describe('instruments', () => {
    it('exports the rules as decimal strings', () => {
      assert.deepEqual(
        { ...INSTRUMENTS[BTC] },
        {
          instrument: BTC,
          asset: 'BTC',
          settleCurrency: 'USDT',
          contractSize: '0.01',
          minQty: '0.01',
          qtyStep: '0.01',
          tickSize: '0.1',
          maxQty: '10000',
          maxLeverage: 125,
        },
      );
      assert.equal(INSTRUMENTS['ETH-USDT-SWAP'].contractSize, '0.1');
    });

    it('fills against the taker: feed ± slippage, then onto the tick, again against the taker', () => {
      const feed = parseUnits('60000.05') ?? 0n;
      // 60000.05 × 1.0002 = 60012.05001 → up to 60012.1; × 0.9998 = 59988.04999 → down to 59988
      assert.equal(formatUnits(fillPrice(RULES[BTC], feed, 'buy', 2)), '60012.1');
      assert.equal(formatUnits(fillPrice(RULES[BTC], feed, 'sell', 2)), '59988');
      assert.equal(formatUnits(fillPrice(RULES[BTC], feed, 'buy', 0)), '60000.1');
      assert.equal(formatUnits(fillPrice(RULES[BTC], feed, 'sell', 0)), '60000');
    });

    it('checks quantities against minimum and step', () => {
      const q = (s: string) => qtyProblem(RULES[BTC], parseUnits(s) ?? null, s);
      assert.equal(q('0.01'), undefined);
      assert.equal(q('12.34'), undefined);
      assert.match(q('0.015') ?? '', /not a multiple of the step 0.01/);
      assert.match(q('0.000000001') ?? '', /not a multiple of the step/);
    });
  });

  describe('orders', () => {
    it('a market buy opens a long at the feed price plus slippage, pays the fee, locks the margin', () => {
      const { engine, account, order } = world();
      account('a', '1000');
      const r = filled(order({ account: 'a', clientOrderId: 'c1', side: 'buy', qty: '1' }));
      // 60000 × 1.0002 = 60012; notional 1 × 0.01 × 60012 = 600.12; fee 0.30006; margin at 10x 60.012
      assert.deepEqual(
        { ...r, legs: undefined },
        {
          status: 'filled',
          account: 'a',
          clientOrderId: 'c1',
          orderId: '1',
          instrument: BTC,
          side: 'buy',
          requestedQty: '1',
          qty: '1',
          price: '60012',
          fee: '0.30006',
          feeCurrency: 'USDT',
          realisedPnl: '0',
          leverage: 10,
          marginMode: 'cross',
          filledMs: 1_764_000_000_000,
          legs: undefined,
          replay: false,
          // a market order, filled in full: nothing canceled
          type: 'market',
          orderStatus: 'FILLED',
          remainingQty: '0',
        },
      );
      assert.deepEqual(r.legs, [
        { side: 'long', action: 'open', qty: '1', positionBefore: '0', positionAfter: '1', realisedPnl: '0' },
      ]);
      const p = engine.positions('a');
      assert.deepEqual(p.balances, { USDT: '999.69994' });
      assert.equal(p.usedMargin, '60.012');
      assert.equal(p.available, '939.68794');
      assert.deepEqual(p.positions, [
        {
          instrument: BTC,
          side: 'long',
          qty: '1',
          avgEntryPrice: '60012',
          leverage: 10,
          marginMode: 'cross',
          margin: '60.012',
          realisedPnl: '0',
          // cross: the whole free balance backs it, far beyond the entry
          liquidationPrice: '0',
        },
      ]);
      const view = conserved(engine);
      assert.deepEqual(view.fees, { USDT: '0.30006' });
      assert.deepEqual(view.totals, { USDT: '1000' });
    });

    it('one-way: an opposite order reduces, realises PnL, and beyond the position flips', () => {
      const { engine, account, order, setPrice } = world();
      account('a', '1000');
      filled(order({ account: 'a', side: 'buy', qty: '1' })); // long 1 at 60012
      setPrice('BTC', '61000'); // sells fill at 61000 × 0.9998 = 60987.8
      const reduce = filled(order({ account: 'a', side: 'sell', qty: '0.4' }));
      // (60987.8 - 60012) × 0.4 × 0.01 = 3.9032; fee 0.4 × 0.01 × 60987.8 × 0.0005 = 0.1219756
      assert.equal(reduce.realisedPnl, '3.9032');
      assert.equal(reduce.fee, '0.1219756');
      assert.deepEqual(reduce.legs, [
        {
          side: 'long',
          action: 'close',
          qty: '0.4',
          positionBefore: '1',
          positionAfter: '0.6',
          realisedPnl: '3.9032',
        },
      ]);
      assert.equal(engine.positions('a').usedMargin, '36.0072'); // 60.012 × 0.6

      const flip = filled(order({ account: 'a', side: 'sell', qty: '1' }));
      assert.deepEqual(flip.legs, [
        {
          side: 'long',
          action: 'close',
          qty: '0.6',
          positionBefore: '0.6',
          positionAfter: '0',
          realisedPnl: '5.8548',
        },
        {
          side: 'short',
          action: 'open',
          qty: '0.4',
          positionBefore: '0',
          positionAfter: '0.4',
          realisedPnl: '0',
        },
      ]);
      const p = engine.positions('a');
      assert.equal(p.positions.length, 1);
      assert.deepEqual(
        { side: p.positions[0]?.side, qty: p.positions[0]?.qty, avg: p.positions[0]?.avgEntryPrice },
        { side: 'short', qty: '0.4', avg: '60987.8' },
      );
      // 0.4 × 0.01 × 60987.8 / 10
      assert.equal(p.usedMargin, '24.39512');
      // 1000 - 0.30006 + 3.9032 - 0.1219756 + 5.8548 - 0.304939
      assert.equal(p.balances.USDT, '1009.0310254');
      assert.equal(p.realisedPnl, '9.758');
      conserved(engine);
    });

    it('hedge: long and short side by side; a close is cut to its position and never flips', () => {
      const { engine, account, order } = world();
      account('h', '10000', 'hedge');
      filled(order({ account: 'h', side: 'buy', positionSide: 'long', qty: '2' }));
      filled(order({ account: 'h', side: 'sell', positionSide: 'short', qty: '1' }));
      assert.deepEqual(
        engine.positions('h').positions.map((p) => `${p.side} ${p.qty}`),
        ['long 2', 'short 1'],
      );
      const close = filled(order({ account: 'h', side: 'sell', positionSide: 'long', qty: '3' }));
      assert.equal(close.requestedQty, '3');
      assert.equal(close.qty, '2');
      assert.deepEqual(
        close.legs.map((l) => `${l.action} ${l.side} ${l.positionBefore}→${l.positionAfter}`),
        ['close long 2→0'],
      );
      assert.deepEqual(
        engine.positions('h').positions.map((p) => `${p.side} ${p.qty}`),
        ['short 1'],
      );
      rejected(order({ account: 'h', side: 'sell', positionSide: 'long', qty: '1' }), 'NO_POSITION');
      rejected(order({ account: 'h', side: 'buy', qty: '1' }), 'INVALID_POSITION_SIDE');
      conserved(engine);
    });

    it('one-way refuses a positionSide', () => {
      const { account, order } = world();
      account('a', '1000');
      rejected(order({ account: 'a', side: 'buy', positionSide: 'long', qty: '1' }), 'INVALID_POSITION_SIDE');
    });

    it('reduce-only: refused when it would open, cut to the position when it would flip', () => {
      const { engine, account, order } = world();
      account('a', '1000');
      account('h', '1000', 'hedge');
      rejected(
        order({ account: 'a', side: 'sell', qty: '1', reduceOnly: true }),
        'REDUCE_ONLY_WOULD_INCREASE',
      );
      filled(order({ account: 'a', side: 'buy', qty: '1' }));
      rejected(
        order({ account: 'a', side: 'buy', qty: '1', reduceOnly: true }),
        'REDUCE_ONLY_WOULD_INCREASE',
      );
      const cut = filled(order({ account: 'a', side: 'sell', qty: '2.5', reduceOnly: true }));
      assert.equal(cut.qty, '1');
      assert.equal(cut.legs.length, 1);
      assert.deepEqual(engine.positions('a').positions, []);
      assert.equal(engine.positions('a').usedMargin, '0');
      rejected(
        order({ account: 'h', side: 'buy', positionSide: 'long', qty: '1', reduceOnly: true }),
        'REDUCE_ONLY_WOULD_INCREASE',
      );
      conserved(engine);
    });

    it('fees go to the fee account; a zero fee rate charges nothing', () => {
      const free = world({ feeRate: '0', slippageBps: 0 });
      free.account('a', '100');
      const r = filled(free.order({ account: 'a', side: 'buy', qty: '0.5' }));
      assert.equal(r.fee, '0');
      assert.equal(r.price, '60000');
      assert.equal(free.engine.positions('a').balances.USDT, '100');
      assert.deepEqual(conserved(free.engine).fees, {});

      const { engine, account, order } = world({ feeRate: '0.001' });
      account('a', '100');
      account('b', '100');
      // ETH: 0.1 per contract; 3 × 0.1 × 3000.6 × 0.001 = 0.90018
      assert.equal(
        filled(order({ account: 'a', instrument: 'ETH-USDT-SWAP', side: 'buy', qty: '3' })).fee,
        '0.90018',
      );
      // 0.07 × 0.1 × 2999.4 × 0.001 = 0.0209958
      assert.equal(
        filled(order({ account: 'b', instrument: 'ETH-USDT-SWAP', side: 'sell', qty: '0.07' })).fee,
        '0.0209958',
      );
      assert.deepEqual(conserved(engine).fees, { USDT: '0.9211758' });
    });

    it('INVALID_QTY below the minimum, off the step or finer than 8 places; nothing changes', () => {
      const { engine, account, order } = world();
      account('a', '1000');
      for (const qty of ['0.001', '0.015', '1.000000001']) {
        rejected(order({ account: 'a', side: 'buy', qty }), 'INVALID_QTY');
      }
      assert.equal(engine.positions('a').balances.USDT, '1000');
      assert.deepEqual(engine.ledgerView().rejected, { INVALID_QTY: 3 });
      assert.equal(engine.ledgerView().ordersApplied, 0);
    });

    it('INSUFFICIENT_MARGIN when margin and fee exceed what is available, to the unit', () => {
      const { engine, account, order } = world();
      // 1 contract: margin 60.012 + fee 0.30006 = 60.31206
      account('rich', '60.31206');
      account('poor', '60.31205');
      filled(order({ account: 'rich', side: 'buy', qty: '1' }));
      assert.equal(engine.positions('rich').available, '0');
      const r = rejected(order({ account: 'poor', side: 'buy', qty: '1' }), 'INSUFFICIENT_MARGIN');
      assert.match(r.message, /needs 60.012 USDT margin and 0.30006 fee, 60.31205 available/);
      assert.equal(engine.positions('poor').balances.USDT, '60.31205');
      // a close needs no margin
      filled(order({ account: 'rich', side: 'sell', qty: '1' }));
      conserved(engine);
    });

    it('leverage and margin mode per account and instrument; refused while a position is open', () => {
      const { engine, account, order } = world();
      account('a', '1000');
      const lev = (o: Record<string, unknown>) =>
        engine.setLeverage(
          parseLeverage({ account: 'a', instrument: BTC, ...o }, (i) => INSTRUMENTS[i].maxLeverage),
        );
      assert.deepEqual(lev({ leverage: 50, marginMode: 'isolated' }), {
        account: 'a',
        instrument: BTC,
        leverage: 50,
        marginMode: 'isolated',
      });
      const r = filled(order({ account: 'a', side: 'buy', qty: '1' }));
      assert.equal(r.leverage, 50);
      assert.equal(r.marginMode, 'isolated');
      assert.equal(engine.positions('a').usedMargin, '12.0024'); // 600.12 / 50
      assert.throws(
        () => lev({ leverage: 20, marginMode: 'isolated' }),
        (e: unknown) => e instanceof Rejected && e.code === 'POSITION_OPEN',
      );
      // another instrument is free
      engine.setLeverage(
        parseLeverage(
          { account: 'a', instrument: 'ETH-USDT-SWAP', leverage: 3, marginMode: 'cross' },
          () => 100,
        ),
      );
      assert.throws(
        () => engine.createAccount(parseAccount({ account: 'a', positionMode: 'hedge' })),
        (e: unknown) => e instanceof Rejected && e.code === 'POSITION_OPEN',
      );
      assert.throws(
        () => lev({ leverage: 126, marginMode: 'cross' }),
        /leverage: expected an integer from 1 to 125/,
      );
      assert.deepEqual(
        engine.positions('a').leverage.map((l) => `${l.instrument} ${l.leverage} ${l.marginMode}`),
        ['BTC-USDT-SWAP 50 isolated', 'ETH-USDT-SWAP 3 cross'],
      );
    });

    it('a loss beyond the wallet empties it and the house bears the rest: still conserved', () => {
      const { engine, account, order, setPrice } = world({ slippageBps: 0 });
      account('a', '100');
      engine.setLeverage(
        parseLeverage({ account: 'a', instrument: BTC, leverage: 100, marginMode: 'cross' }, () => 125),
      );
      filled(order({ account: 'a', side: 'buy', qty: '10' })); // notional 6000, margin 60, fee 3
      setPrice('BTC', '50000');
      const close = filled(order({ account: 'a', side: 'sell', qty: '10' }));
      assert.equal(close.realisedPnl, '-1000');
      assert.equal(engine.positions('a').balances.USDT, '0');
      const view = conserved(engine);
      // the wallet's 97 could not pay 1000 + a 2.5 fee
      assert.equal(view.shortfall, '905.5');
      assert.deepEqual(view.totals, { USDT: '100' });
    });

    it('unknown accounts are rejected, never created', () => {
      const { engine, order } = world();
      rejected(order({ account: 'nobody', side: 'buy', qty: '1' }), 'UNKNOWN_ACCOUNT');
      assert.equal(engine.hasAccount('nobody'), false);
    });
  });

  describe('idempotency by client order id', () => {
    it('a repeat returns the first result as a replay and changes nothing', () => {
      const { engine, account, setPrice } = world();
      account('a', '1000');
      const body = { account: 'a', clientOrderId: 'sig1:a', instrument: BTC, side: 'buy', qty: '1' };
      const first = filled(engine.place(parseOrder(body)));
      setPrice('BTC', '65000');
      const again = filled(engine.place(parseOrder({ ...body, qty: '1.00' })));
      assert.deepEqual(again, { ...first, replay: true });
      assert.deepEqual(engine.lookup('a', 'sig1:a'), first);
      assert.equal(engine.lookup('a', 'sig2:a'), undefined);
      assert.equal(engine.lookup('b', 'sig1:a'), undefined);
      assert.equal(engine.positions('a').positions[0]?.qty, '1');
      const view = conserved(engine);
      assert.equal(view.ordersApplied, 1);
      assert.equal(view.replays, 1);
      assert.equal(view.journalEntries, 2); // the deposit and one fill
    });

    it('another order under the same id conflicts; ids are per account; a rejection can be retried', () => {
      const { engine, account } = world();
      account('a', '1000');
      account('b', '61');
      const body = { account: 'a', clientOrderId: 'x', instrument: BTC, side: 'buy', qty: '1' };
      filled(engine.place(parseOrder(body)));
      rejected(engine.place(parseOrder({ ...body, side: 'sell' })), 'IDEMPOTENCY_CONFLICT');
      rejected(engine.place(parseOrder({ ...body, reduceOnly: true })), 'IDEMPOTENCY_CONFLICT');
      for (const other of [{ qty: '2' }, { qty: '1.000000001' }, { instrument: 'ETH-USDT-SWAP' }]) {
        rejected(engine.place(parseOrder({ ...body, ...other })), 'IDEMPOTENCY_CONFLICT');
      }
      // same id, another account: its own order (b cannot afford 2, then can afford 1)
      rejected(engine.place(parseOrder({ ...body, account: 'b', qty: '2' })), 'INSUFFICIENT_MARGIN');
      filled(engine.place(parseOrder({ ...body, account: 'b' })));
      assert.equal(engine.ledgerView().ordersApplied, 2);
      assert.equal(engine.ledgerView().duplicatedClientOrderIds, 0);
    });

    it('a repeat in hedge mode must name the same position side', () => {
      const { engine, account } = world();
      account('h', '1000', 'hedge');
      const body = {
        account: 'h',
        clientOrderId: 'p',
        instrument: BTC,
        side: 'buy',
        qty: '1',
        positionSide: 'long',
      };
      filled(engine.place(parseOrder(body)));
      rejected(engine.place(parseOrder({ ...body, positionSide: 'short' })), 'IDEMPOTENCY_CONFLICT');
      assert.equal(filled(engine.place(parseOrder(body))).replay, true);
    });

    it('an injected rejection hits a new order only, never a replay', () => {
      const { engine, account } = world();
      account('a', '1000');
      const req = parseOrder({ account: 'a', clientOrderId: 'k', instrument: BTC, side: 'buy', qty: '1' });
      rejected(engine.place(req, 'ACCOUNT_FROZEN'), 'ACCOUNT_FROZEN');
      filled(engine.place(req));
      const replay = filled(engine.place(req, 'ACCOUNT_FROZEN'));
      assert.equal(replay.replay, true);
      assert.deepEqual(engine.ledgerView().rejected, { ACCOUNT_FROZEN: 1 });
    });
  });

  it('conserves money over many random orders, one-way and hedge, as the price walks', () => {
    const { engine, account, order, setPrice } = world();
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let i = 0; i < 20; i++) account(`r${i}`, String(100 + i * 50), i % 2 ? 'hedge' : 'one-way');
    let fills = 0;
    for (let n = 0; n < 2000; n++) {
      if (n % 50 === 0) setPrice('BTC', (55_000 + Math.floor(rand() * 10_000)).toFixed(2));
      const i = Math.floor(rand() * 20);
      const r = order({
        account: `r${i}`,
        side: rand() < 0.5 ? 'buy' : 'sell',
        qty: (Math.floor(rand() * 50) / 100 + 0.01).toFixed(2),
        reduceOnly: rand() < 0.1,
        ...(i % 2 ? { positionSide: rand() < 0.5 ? 'long' : 'short' } : {}),
      });
      if (r.status === 'filled') fills += r.legs.length;
    }
    const view = conserved(engine);
    assert.equal(view.fills, fills);
    assert.ok(view.ordersApplied > 1000, `only ${view.ordersApplied} filled`);
  });

  it('publishes a fill event per leg, with what a TraderSignal needs', () => {
    const { account, order } = world();
    account('lead', '1000');
    filled(order({ account: 'lead', side: 'buy', qty: '1' }));
    const flip = filled(order({ account: 'lead', clientOrderId: 'flip', side: 'sell', qty: '1.5' }));
    assert.deepEqual(fillEvents(flip), [
      {
        type: 'fill',
        account: 'lead',
        instrument: BTC,
        side: 'long',
        action: 'close',
        qty: '1',
        price: '59988',
        leverage: 10,
        positionBefore: '1',
        clientOrderId: 'flip',
        filledMs: 1_764_000_000_000,
        fillId: '2-1',
      },
      {
        type: 'fill',
        account: 'lead',
        instrument: BTC,
        side: 'short',
        action: 'open',
        qty: '0.5',
        price: '59988',
        leverage: 10,
        positionBefore: '0',
        clientOrderId: 'flip',
        filledMs: 1_764_000_000_000,
        fillId: '2-2',
      },
    ]);
  });

  describe('requests', () => {
    it('name the field that is wrong', () => {
      const ok = { account: 'a', clientOrderId: 'c', instrument: BTC, side: 'buy', qty: '1' };
      assert.throws(() => parseOrder({ ...ok, instrument: 'DOGE-USDT-SWAP' }), /instrument: expected one of/);
      assert.throws(() => parseOrder({ ...ok, qty: 1 }), /qty: expected a decimal string/);
      assert.throws(() => parseOrder({ ...ok, qty: '0' }), /qty: expected a positive quantity/);
      assert.throws(() => parseOrder({ ...ok, qty: '-1' }), /qty: expected a positive quantity/);
      assert.throws(() => parseOrder({ ...ok, side: 'long' }), /side: expected one of buy, sell/);
      assert.throws(() => parseOrder({ ...ok, reduceOnly: 'yes' }), /reduceOnly: expected true or false/);
      assert.throws(
        () => parseOrder({ ...ok, clientOrderId: '' }),
        /clientOrderId: expected a non-empty string/,
      );
      assert.throws(
        () => parseOrder({ ...ok, account: 'exchange:house' }),
        /account: expected an account id/,
      );
      assert.throws(() => parseOrder({ ...ok, account: 'a b' }), /account: expected an account id/);
      assert.equal(parseOrder({ ...ok, account: 'copier-1/sub-2' }).account, 'copier-1/sub-2');
      assert.throws(
        () => parseAccount({ account: 'a', balances: { DOGE: '1' } }),
        /balances.DOGE: expected one of/,
      );
      assert.throws(
        () => parseAccount({ account: 'a', balances: { USDT: '-1' } }),
        /balances.USDT: expected a non-negative/,
      );
      assert.throws(
        () => parseAccount({ account: 'a', positionMode: 'net' }),
        /positionMode: expected one of one-way, hedge/,
      );
      assert.throws(
        () =>
          parseLeverage({ account: 'a', instrument: BTC, leverage: 10, marginMode: 'portfolio' }, () => 125),
        /marginMode: expected one of cross, isolated/,
      );
    });

    it('deposits add up, and an account can be funded again', () => {
      const { engine, account } = world();
      account('a', '10.123456789');
      assert.equal(account('a', '5').balances.USDT, '15.12345678');
      engine.createAccount(parseAccount({ account: 'a', balances: { BTC: '0.5' } }));
      assert.deepEqual(engine.positions('a').balances, { USDT: '15.12345678', BTC: '0.5' });
      assert.deepEqual(conserved(engine).deposits, { USDT: '15.12345678', BTC: '0.5' });
    });
  });
});
