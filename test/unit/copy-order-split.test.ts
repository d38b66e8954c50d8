import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FilledOrder, OrderOutcome } from '../../src/clients/exchange-wire.js';
import type { CopyOrder } from '../../src/copytrade/domain/copy-order.js';
import { fx, fxStr } from '../../src/copytrade/domain/fixed.js';
import {
  MAX_ORDER_PARTS,
  partClientOrderId,
  partsOf,
  splitQty,
} from '../../src/copytrade/domain/order-split.js';
import { combineParts, fillsOf, isSplit, planParts } from '../../src/copytrade/fanout/order-parts.js';

const rules = { qtyStep: '0.01', minQty: '0.01', maxQty: '10' };
const split = (qty: string, r: { qtyStep: string; minQty: string; maxQty?: string } = rules) =>
  splitQty(fx(qty), {
    step: fx(r.qtyStep),
    minQty: fx(r.minQty),
    maxQty: r.maxQty === undefined ? undefined : fx(r.maxQty),
  }).map(fxStr);
const sum = (qtys: string[]) => fxStr(qtys.reduce((s, q) => s + fx(q), 0n));

const open: CopyOrder = {
  clientOrderId: 's1@t1:c1',
  signalId: 's1@t1',
  copierId: 'c1',
  traderId: 't1',
  instrument: 'BTC-USDT-SWAP',
  account: { type: 'main' },
  action: 'open',
  side: 'long',
  orderSide: 'buy',
  posSide: 'net',
  qty: '25',
  reduceOnly: false,
  leverage: 10,
  marginMode: 'cross',
  margin: '1600',
  limitPrice: '63315',
};

describe('splitQty: an order over the per-order maximum as parts the exchange takes', () => {
  it('at or under the maximum, or with no maximum known: one order, as sized', () => {
    assert.deepEqual(split('10'), ['10']);
    assert.deepEqual(split('0.01'), ['0.01']);
    assert.deepEqual(split('1000', { qtyStep: '0.01', minQty: '0.01' }), ['1000']);
  });

  it('equal parts on the step, the steps left over on the last parts, summing exactly', () => {
    assert.deepEqual(split('25'), ['8.33', '8.33', '8.34']);
    assert.deepEqual(split('20'), ['10', '10']);
    assert.deepEqual(split('10.01'), ['5', '5.01']);
    assert.deepEqual(split('29.99'), ['9.99', '10', '10']);
    for (const q of ['10.01', '25', '29.99', '30', '30.01', '199.99', '0.33']) {
      const r = q === '0.33' ? { ...rules, maxQty: '0.1' } : rules;
      const parts = split(q, r);
      assert.equal(sum(parts), q, q);
      for (const p of parts) {
        assert.ok(fx(p) <= fx(r.maxQty), `${q}: ${p} over the maximum`);
        assert.ok(fx(p) >= fx(r.minQty), `${q}: ${p} under the minimum`);
        assert.equal(fx(p) % fx(r.qtyStep), 0n, `${q}: ${p} off the step`);
      }
      // ascending: part 1 is the smallest (a refusal of part 1 for margin refuses every later one)
      assert.deepEqual(
        [...parts].sort((a, b) => Number(fx(a) - fx(b))),
        parts,
        q,
      );
    }
  });

  it('a maximum off the step is rounded down to it for the parts', () => {
    assert.deepEqual(split('20', { qtyStep: '1', minQty: '1', maxQty: '7.5' }), ['6', '7', '7']);
  });

  it('more parts than MAX_ORDER_PARTS, or parts under the minimum: one order, refused by the exchange as sized', () => {
    assert.equal(MAX_ORDER_PARTS, 20);
    assert.equal(split('200').length, 20);
    assert.deepEqual(split('200.01'), ['200.01']);
    assert.deepEqual(split('2', { qtyStep: '1', minQty: '1', maxQty: '1.5' }), ['1', '1']);
    assert.deepEqual(split('3', { qtyStep: '0.5', minQty: '1', maxQty: '1' }), ['1', '1', '1']);
    // two parts of 0.75 would be off the step, of 0.5 under the minimum
    assert.deepEqual(split('1.5', { qtyStep: '0.5', minQty: '1', maxQty: '1' }), ['1.5']);
  });
});

describe('part client order ids', () => {
  it('part 1 keeps the copy’s id, part k is {id}/k, every one with a ":"', () => {
    assert.equal(partClientOrderId('s1@t1:c1', 1), 's1@t1:c1');
    assert.equal(partClientOrderId('s1@t1:c1', 2), 's1@t1:c1/2');
    assert.equal(partClientOrderId('s1@t1:c1', 20), 's1@t1:c1/20');
  });

  it('an id over the exchange length is hashed, the same every time and still with a ":"', () => {
    const long = `${'s'.repeat(60)}@${'t'.repeat(60)}:c1234`; // 127 characters
    assert.equal(long.length, 127);
    const p2 = partClientOrderId(long, 2);
    assert.match(p2, /^h:[A-Za-z0-9_-]{43}$/);
    assert.equal(partClientOrderId(long, 2), p2);
    assert.notEqual(partClientOrderId(long, 3), p2);
    assert.equal(partClientOrderId('h:abc', 2), 'h:abc/2');
  });

  it('partsOf: each part its id and qty, the reservation on the first only', () => {
    const parts = partsOf(open, rules);
    assert.deepEqual(
      parts.map((p) => [p.clientOrderId, p.qty, p.margin]),
      [
        ['s1@t1:c1', '8.33', '1600'],
        ['s1@t1:c1/2', '8.33', '0'],
        ['s1@t1:c1/3', '8.34', '0'],
      ],
    );
    for (const p of parts)
      assert.deepEqual(
        { ...p, clientOrderId: '', qty: '', margin: '' },
        { ...open, clientOrderId: '', qty: '', margin: '' },
      );
    assert.deepEqual(partsOf({ ...open, qty: '10' }, rules), [{ ...open, qty: '10' }]);
  });
});

const fill = (id: string, qty: string, price: string, over: Partial<FilledOrder> = {}): FilledOrder => ({
  status: 'filled',
  account: 'c1',
  clientOrderId: id,
  orderId: `o-${id}`,
  instrument: 'BTC-USDT-SWAP',
  side: 'buy',
  requestedQty: qty,
  qty,
  price,
  fee: '1',
  feeCurrency: 'USDT',
  realisedPnl: '0',
  leverage: 10,
  marginMode: 'cross',
  filledMs: 1,
  legs: [],
  replay: false,
  type: 'limit',
  limitPrice: '63315',
  timeInForce: 'IOC',
  orderStatus: 'FILLED',
  remainingQty: '0',
  ...over,
});

describe('the parts’ answers as the copy’s one answer', () => {
  const parts = partsOf(open, rules);

  it('all filled: the sums, the volume-weighted price, each part applied to the book on its own', () => {
    const answers = [
      fill('s1@t1:c1', '8.33', '63000'),
      fill('s1@t1:c1/2', '8.33', '63000'),
      fill('s1@t1:c1/3', '8.34', '63100'),
    ];
    const r = combineParts(open, parts, answers);
    assert.ok(r.status === 'filled' && isSplit(r));
    assert.deepEqual(
      [r.clientOrderId, r.requestedQty, r.qty, r.fee, r.remainingQty, r.orderStatus],
      ['s1@t1:c1', '25', '25', '3', '0', 'FILLED'],
    );
    // (16.66 × 63000 + 8.34 × 63100) / 25
    assert.equal(r.price, '63033.36');
    assert.deepEqual(
      fillsOf(open, r).map((f) => [f.order.clientOrderId, f.order.qty, f.order.margin, f.fill.qty]),
      [
        ['s1@t1:c1', '8.33', '1600', '8.33'],
        ['s1@t1:c1/2', '8.33', '0', '8.33'],
        ['s1@t1:c1/3', '8.34', '0', '8.34'],
      ],
    );
  });

  it('a part refused: the others fill, the refused qty and its code are what did not fill', () => {
    const answers: OrderOutcome[] = [
      fill('s1@t1:c1', '8.33', '63000'),
      fill('s1@t1:c1/2', '8.33', '63000', {
        remainingQty: '0.33',
        qty: '8',
        orderStatus: 'PARTIALLY_FILLED',
        cancelReason: 'INSUFFICIENT_LIQUIDITY',
      }),
      {
        status: 'rejected',
        account: 'c1',
        clientOrderId: 's1@t1:c1/3',
        code: 'INSUFFICIENT_MARGIN',
        message: 'x',
      },
    ];
    const r = combineParts(open, parts, answers);
    assert.ok(r.status === 'filled' && isSplit(r));
    assert.deepEqual(
      [r.qty, r.remainingQty, r.orderStatus, r.refusedCode, r.cancelReason],
      ['16.33', '8.67', 'PARTIALLY_FILLED', 'INSUFFICIENT_MARGIN', 'INSUFFICIENT_LIQUIDITY'],
    );
    // the reservation goes back once, with the first part that filled
    assert.deepEqual(
      fillsOf(open, r).map((f) => f.order.margin),
      ['1600', '0'],
    );
  });

  it('nothing filled: canceled if a part was, else the first refusal, under the copy’s id', () => {
    const refused = combineParts(
      open,
      parts,
      parts.map(
        (p): OrderOutcome => ({
          status: 'rejected',
          account: 'c1',
          clientOrderId: p.clientOrderId,
          code: 'INSUFFICIENT_MARGIN',
          message: 'x',
        }),
      ),
    );
    assert.deepEqual(
      [refused.status, refused.clientOrderId, refused.status === 'rejected' && refused.code],
      ['rejected', 's1@t1:c1', 'INSUFFICIENT_MARGIN'],
    );
    const canceled = combineParts(
      open,
      parts,
      parts.map(
        (p): OrderOutcome => ({
          status: 'canceled',
          orderStatus: 'CANCELED',
          account: 'c1',
          clientOrderId: p.clientOrderId,
          orderId: 'x',
          instrument: 'BTC-USDT-SWAP',
          side: 'buy',
          type: 'limit',
          requestedQty: p.qty,
          qty: '0',
          remainingQty: p.qty,
          cancelReason: 'PRICE_BEYOND_LIMIT',
          marketPrice: '64000',
          message: 'm',
          canceledMs: 1,
          replay: true,
        }),
      ),
    );
    assert.ok(canceled.status === 'canceled');
    assert.deepEqual(
      [canceled.clientOrderId, canceled.requestedQty, canceled.remainingQty, canceled.replay],
      ['s1@t1:c1', '25', '25', true],
    );
  });

  it('planParts: null when nothing is split; else a copy’s parts never in two requests', () => {
    const small = { ...open, qty: '5' };
    const rulesOf = () => rules;
    assert.equal(planParts([small, small], rulesOf, 2), null);
    const a = { ...small, copierId: 'a', clientOrderId: 's1@t1:a' };
    const b = { ...open, copierId: 'b', clientOrderId: 's1@t1:b' };
    const c = { ...small, copierId: 'c', clientOrderId: 's1@t1:c' };
    const plan = planParts([a, b, c], rulesOf, 2);
    assert.ok(plan);
    assert.deepEqual(
      plan.requests.map((r) => r.map((o) => o.clientOrderId)),
      [['s1@t1:a'], ['s1@t1:b', 's1@t1:b/2', 's1@t1:b/3'], ['s1@t1:c']],
    );
    const answers = plan.answers(
      plan.requests.map((r) => r.map((o) => fill(o.clientOrderId, o.qty, '63000'))),
    );
    assert.deepEqual(
      answers.map((r) => [r.clientOrderId, r.status === 'filled' && r.qty]),
      [
        ['s1@t1:a', '5'],
        ['s1@t1:b', '25'],
        ['s1@t1:c', '5'],
      ],
    );
  });
});
