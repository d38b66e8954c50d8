import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Money } from '../../src/domain/money.js';
import { InvalidRequest, Rejected } from '../../src/sim/errors.js';
import { ExchangeEngine } from '../../src/sim/exchange/engine.js';
import { parseAccount, parseOrder, parseTransfer } from '../../src/sim/exchange/requests.js';

const ESCROW = 'exchange:escrow:profit-share';

function world() {
  const engine = new ExchangeEngine({
    feeRate: '0.0005',
    slippageBps: 0,
    price: () => new Money('50000'),
    now: () => 1_764_000_000_000,
  });
  engine.createAccount(parseAccount({ account: 'c1', balances: { USDT: '100' } }));
  engine.createAccount(parseAccount({ account: 't1', balances: { USDT: '5' } }));
  const transfer = (body: Record<string, unknown>) => engine.transfer(parseTransfer(body));
  const usdt = (account: string) => engine.positions(account).balances.USDT;
  return { engine, transfer, usdt };
}

const rejectedWith = (code: string) => (err: unknown) => err instanceof Rejected && err.code === code;

describe('exchange funding transfers', () => {
  it('moves USDT into an escrow and out again, each key once, the ledger conserved', () => {
    const { engine, transfer, usdt } = world();
    const first = transfer({ key: 'k1', from: 'c1', to: ESCROW, amount: '12.5' });
    assert.equal(first.replay, false);
    const again = transfer({ key: 'k1', from: 'c1', to: ESCROW, amount: '12.50' });
    assert.deepEqual(again, { ...first, replay: true });
    transfer({ key: 'k2', from: ESCROW, to: 't1', amount: '10' });
    transfer({ key: 'k3', from: ESCROW, to: 'c1', amount: '2.5' });
    assert.equal(usdt('c1'), '90');
    assert.equal(usdt('t1'), '15');
    const view = engine.transfers('k');
    assert.deepEqual(
      view.transfers.map((t) => [t.key, t.amount, t.applied]),
      [
        ['k1', '12.5', 1],
        ['k2', '10', 1],
        ['k3', '2.5', 1],
      ],
    );
    assert.equal(view.duplicatedKeys, 0);
    assert.equal(view.replays, 1);
    assert.deepEqual(view.escrow, { [ESCROW]: '0' });
    const ledger = engine.ledgerView();
    assert.equal(ledger.conserved, true, ledger.problems.join('; '));
    assert.deepEqual(ledger.totals, { USDT: '105' });
  });

  it('the same key with another body is a conflict and moves nothing', () => {
    const { transfer, usdt } = world();
    transfer({ key: 'k1', from: 'c1', to: ESCROW, amount: '1' });
    for (const body of [{ amount: '2' }, { to: 't1' }, { from: 't1', to: 'c1' }]) {
      assert.throws(
        () => transfer({ key: 'k1', from: 'c1', to: ESCROW, amount: '1', ...body }),
        rejectedWith('IDEMPOTENCY_CONFLICT'),
      );
    }
    assert.equal(usdt('c1'), '99');
  });

  it('never overdraws: a user account gives at most wallet less used margin, an escrow what it holds', () => {
    const { engine, transfer, usdt } = world();
    assert.throws(
      () => transfer({ key: 'a', from: 'c1', to: ESCROW, amount: '100.00000001' }),
      rejectedWith('INSUFFICIENT_FUNDS'),
    );
    // 0.01 contract at 50000 and 10x locks 50 USDT of margin (fee 0.25)
    const fill = engine.place(
      parseOrder({ account: 'c1', clientOrderId: 'o1', instrument: 'BTC-USDT-SWAP', side: 'buy', qty: '1' }),
    );
    assert.equal(fill.status, 'filled');
    assert.equal(engine.positions('c1').available, '49.75');
    assert.throws(
      () => transfer({ key: 'b', from: 'c1', to: ESCROW, amount: '49.76' }),
      rejectedWith('INSUFFICIENT_FUNDS'),
    );
    transfer({ key: 'b', from: 'c1', to: ESCROW, amount: '49.75' });
    assert.throws(
      () => transfer({ key: 'c', from: ESCROW, to: 't1', amount: '50' }),
      /INSUFFICIENT_FUNDS|has 49.75/,
    );
    // a refused key is not remembered: it may be sent again once the funds are there
    transfer({ key: 'a', from: ESCROW, to: 't1', amount: '49.75' });
    assert.equal(usdt('t1'), '54.75');
    assert.equal(engine.ledgerView().conserved, true);
  });

  it('bad bodies are refused naming the field; unknown accounts are rejected', () => {
    const { transfer } = world();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ key: '', from: 'c1', to: ESCROW, amount: '1' }, /key/],
      [{ key: 'k', from: 'c1', to: 'c1', amount: '1' }, /to: must differ/],
      [{ key: 'k', from: 'exchange:house', to: 'c1', amount: '1' }, /from/],
      [{ key: 'k', from: 'c1', to: ESCROW, amount: '0' }, /amount/],
      [{ key: 'k', from: 'c1', to: ESCROW, amount: '-1' }, /amount/],
      [{ key: 'k', from: 'c1', to: ESCROW, amount: '0.000000001' }, /amount/],
      [{ key: 'k', from: 'c1', to: ESCROW, amount: 1 }, /amount/],
    ];
    for (const [body, message] of bad) {
      assert.throws(
        () => transfer(body),
        (err: unknown) => err instanceof InvalidRequest && message.test(err.message),
      );
    }
    assert.throws(
      () => transfer({ key: 'k', from: 'c1', to: 'nobody', amount: '1' }),
      rejectedWith('UNKNOWN_ACCOUNT'),
    );
  });
});
