import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { money } from '../../src/domain/money.js';
import { InvalidRequest } from '../../src/sim/errors.js';
import {
  accountId,
  batchOrders,
  parseAccount,
  parseLeverage,
  parseLookup,
  parseOrder,
} from '../../src/sim/exchange/requests.js';
import { parseSwap, parseTrade, parseTransfer } from '../../src/sim/requests.js';
import { nonString, positiveDecimal, runs } from '../support/fuzz.js';

/** Parses, or throws an InvalidRequest (never any other error). */
function parsesOrRefuses(parse: () => unknown): InvalidRequest | undefined {
  try {
    parse();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof InvalidRequest, `not an InvalidRequest: ${String(err)}`);
    return err;
  }
}

const text = (max: number) => fc.string({ minLength: 1, maxLength: max });
const account = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,40}$/);
const maxLeverage = () => 100;

const swap = fc.record({
  key: text(128),
  orderId: text(64),
  userId: text(64),
  flow: fc.constantFrom('open', 'close'),
  asset: fc.constantFrom('BTC', 'ETH'),
  qty: positiveDecimal,
  usdt: fc.oneof(positiveDecimal, fc.constant('0')),
});
const transfer = fc
  .record({
    key: text(128),
    from: fc.constantFrom('house:swap', 'house:funding'),
    currency: fc.constantFrom('USDT', 'BTC', 'ETH'),
    amount: positiveDecimal,
  })
  .map((t) => ({ ...t, to: t.from === 'house:swap' ? 'house:funding' : 'house:swap' }));
const order = fc.record(
  {
    account,
    clientOrderId: text(128),
    instrument: fc.constantFrom('BTC-USDT-SWAP', 'ETH-USDT-SWAP'),
    side: fc.constantFrom('buy', 'sell'),
    positionSide: fc.constantFrom('long', 'short'),
    qty: positiveDecimal,
    reduceOnly: fc.boolean(),
  },
  { requiredKeys: ['account', 'clientOrderId', 'instrument', 'side', 'qty'] },
);

/** Every parser on one untrusted body. */
const parsers: [string, (b: unknown) => unknown][] = [
  ['swap', parseSwap],
  ['transfer', parseTransfer],
  ['trade', parseTrade],
  ['order', parseOrder],
  ['lookup', (b) => parseLookup(b, 10)],
  ['batch', batchOrders],
  ['account', parseAccount],
  ['leverage', (b) => parseLeverage(b, maxLeverage)],
];

describe('fuzz: simulator request parsers', () => {
  it('never throw anything but an InvalidRequest, on any JSON', () => {
    const shaped = fc.oneof(
      fc.jsonValue(),
      swap.map((s) => ({ ...s })),
      order.map((o) => ({ orders: [o, { ...o, qty: -1 }], ...o })),
      fc.dictionary(
        fc.constantFrom(
          'account',
          'balances',
          'leverage',
          'instrument',
          'marginMode',
          'positionMode',
          'side',
          'orders',
        ),
        fc.jsonValue(),
      ),
    );
    fc.assert(
      fc.property(shaped, (b) => {
        for (const [, parse] of parsers) parsesOrRefuses(() => parse(b));
      }),
      runs(500),
    );
  });

  it('accountId never throws anything but an InvalidRequest', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constant(null)), (s) => void parsesOrRefuses(() => accountId(s))),
      runs(300),
    );
  });

  it('take valid bodies and give back their fields', () => {
    fc.assert(
      fc.property(swap, transfer, order, (s, t, o) => {
        const sw = parseSwap(s);
        assert.deepEqual(
          [sw.key, sw.orderId, sw.userId, sw.flow, sw.asset],
          [s.key, s.orderId, s.userId, s.flow, s.asset],
        );
        assert.ok(sw.qty.eq(money(s.qty).toDecimalPlaces(8, 1)));
        const tr = parseTransfer(t);
        assert.deepEqual([tr.from, tr.to, tr.currency], [t.from, t.to, t.currency]);
        const or = parseOrder(o);
        assert.deepEqual(
          [or.account, or.clientOrderId, or.instrument, or.side, or.positionSide, or.qtyText, or.reduceOnly],
          [o.account, o.clientOrderId, o.instrument, o.side, o.positionSide, o.qty, o.reduceOnly === true],
        );
      }),
      runs(300),
    );
  });

  it('refuse a swap, transfer or order with one bad field, naming it', () => {
    const badDecimal = fc.oneof(nonString, fc.constantFrom('', 'x', '-1', '0', '1e5', '0x1', ' 1', '.5'));
    const badText = fc.oneof(nonString, fc.constantFrom('', 'a'.repeat(129)));
    const badChoice = fc.oneof(nonString, fc.constantFrom('', 'BUY', 'house', 'btc', 'no account!'));
    const badAccount = fc.oneof(nonString, fc.constantFrom('', 'no account!', '-a', 'a'.repeat(65)));
    const cases = fc.oneof(
      fc.tuple(
        fc.constant('swap'),
        swap as fc.Arbitrary<object>,
        fc.constantFrom('key', 'orderId', 'userId', 'flow', 'asset', 'qty'),
      ),
      fc.tuple(
        fc.constant('transfer'),
        transfer as fc.Arbitrary<object>,
        fc.constantFrom('key', 'from', 'currency', 'amount'),
      ),
      fc.tuple(
        fc.constant('order'),
        order as fc.Arbitrary<object>,
        fc.constantFrom('account', 'clientOrderId', 'instrument', 'side', 'qty'),
      ),
    );
    const parse: Record<string, (b: unknown) => unknown> = {
      swap: parseSwap,
      transfer: parseTransfer,
      order: parseOrder,
    };
    fc.assert(
      fc.property(cases, badDecimal, badText, badChoice, badAccount, ([kind, body, field], ...bad) => {
        const texts = ['key', 'orderId', 'userId', 'clientOrderId'];
        const [decimal, txt, choice, acct] = bad;
        const value =
          field === 'qty' || field === 'amount'
            ? decimal
            : texts.includes(field)
              ? txt
              : field === 'account'
                ? acct
                : choice;
        const e = parsesOrRefuses(() =>
          (parse[kind] as (b: unknown) => unknown)({ ...body, [field]: value }),
        );
        assert.ok(e, `${kind}.${field}=${JSON.stringify(value)} was taken`);
        assert.ok(e.message.startsWith(`${field}:`), `${kind}.${field}: ${e.message}`);
      }),
      runs(500),
    );
  });
});
