import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Money } from '../../src/domain/money.js';
import { FIXED_ACCOUNTS, simPolicy } from '../../src/sim/accounts.js';
import { Rejected } from '../../src/sim/errors.js';
import { auditLedger, type Book, Ledger, type Posting } from '../../src/sim/ledger.js';

const p = (account: string, currency: Posting['currency'], amount: string): Posting => ({
  account,
  currency,
  amount: new Money(amount),
});

const newLedger = () => new Ledger(simPolicy, FIXED_ACCOUNTS);

/** A deep copy of a book with one balance replaced. */
function tamper(book: Book, account: string, currency: Posting['currency'], amount: string): Book {
  const copy = new Map([...book].map(([a, b]) => [a, new Map(b)]));
  copy.get(account)?.set(currency, new Money(amount));
  return copy;
}

describe('sim ledger', () => {
  it('moves money between accounts and counts the effect of the key once', () => {
    const l = newLedger();
    l.apply('o1:1', [p('user:u1', 'USDT', '-100.5'), p('house:swap', 'USDT', '100.5')]);
    assert.equal(l.balance('user:u1', 'USDT').toFixed(), '999899.5');
    assert.equal(l.balance('house:swap', 'USDT').toFixed(), '100.5');
    assert.equal(l.effects.get('o1:1'), 1);
    assert.equal(l.doubleEffects, 0);
    assert.equal(l.journalEntries, 1);
  });

  it('opens a user with 1,000,000 USDT on first use and counts it in the initial totals', () => {
    const l = newLedger();
    const before = l.audit().initialTotals.get('USDT')?.toFixed();
    assert.equal(l.balance('user:new', 'USDT').toFixed(), '1000000');
    const after = l.audit().initialTotals.get('USDT')?.toFixed();
    assert.equal(new Money(after ?? '0').minus(before ?? '0').toFixed(), '1000000');
    assert.equal(l.audit().conserved, true);
  });

  it('refuses postings that do not sum to zero per currency, applying nothing', () => {
    const l = newLedger();
    assert.throws(
      () =>
        l.apply('k', [
          p('house:swap', 'USDT', '-1'),
          p('house:funding', 'USDT', '1'),
          p('fees', 'BTC', '0.1'),
        ]),
      /BTC sums to 0.1/,
    );
    assert.equal(l.journalEntries, 0);
    assert.equal(l.effects.size, 0);
    assert.equal(l.balance('house:funding', 'USDT').toFixed(), '0');
  });

  it('refuses to overdraw an account that may not go negative, all or nothing', () => {
    const l = newLedger();
    assert.throws(
      () =>
        l.apply('k', [
          p('house:swap', 'BTC', '-1'),
          p('house:options', 'BTC', '1'),
          p('house:funding', 'USDT', '-5'),
          p('house:swap', 'USDT', '5'),
        ]),
      (err: unknown) =>
        err instanceof Rejected && err.code === 'INSUFFICIENT_BALANCE' && /house:funding/.test(err.message),
    );
    assert.equal(l.balance('house:swap', 'BTC').toFixed(), '0');
    assert.equal(l.balance('house:options', 'BTC').toFixed(), '0');
    assert.equal(l.effects.has('k'), false);
  });

  it('lets the house be short: house:swap and house:options may go negative', () => {
    const l = newLedger();
    l.apply('k', [p('house:swap', 'ETH', '-2'), p('house:options', 'ETH', '2')]);
    l.apply('k2', [p('house:options', 'USDT', '-3'), p('house:swap', 'USDT', '3')]);
    assert.equal(l.balance('house:swap', 'ETH').toFixed(), '-2');
    assert.equal(l.balance('house:options', 'USDT').toFixed(), '-3');
    assert.equal(l.audit().conserved, true);
  });

  it('keeps every entry in the journal, readable as often as needed', () => {
    const l = newLedger();
    l.apply('a', [p('user:we;ird "id"', 'USDT', '-0.00000001'), p('house:swap', 'USDT', '0.00000001')]);
    l.apply('b', [p('market', 'ETH', '-2'), p('fees', 'ETH', '2')]);
    const read = () =>
      [...l.state().journal].map(
        (e) =>
          `${e.key}: ${e.postings.map((x) => `${x.account} ${x.currency} ${x.amount.toFixed()}`).join(', ')}`,
      );
    const expected = [
      'a: user:we;ird "id" USDT -0.00000001, house:swap USDT 0.00000001',
      'b: market ETH -2, fees ETH 2',
    ];
    assert.deepEqual(read(), expected);
    assert.deepEqual(read(), expected);
  });

  it('throws on an account that cannot exist', () => {
    assert.throws(
      () => newLedger().apply('k', [p('nobody', 'USDT', '-1'), p('fees', 'USDT', '1')]),
      /unknown account/,
    );
  });

  it('counts keys applied more than once, independent of any idempotency layer', () => {
    const l = newLedger();
    const move = [p('market', 'USDT', '-1'), p('fees', 'USDT', '1')];
    l.apply('a', move);
    l.apply('a', move);
    l.apply('a', move);
    assert.equal(l.effects.get('a'), 3);
    assert.equal(l.doubleEffects, 1);
    l.apply('b', move);
    assert.equal(l.doubleEffects, 1);
    l.apply('b', move);
    assert.equal(l.doubleEffects, 2);
    assert.equal(l.journalEntries, 5);
  });

  describe('audit', () => {
    const busy = () => {
      const l = newLedger();
      l.apply('1', [p('user:u1', 'USDT', '-1000'), p('house:swap', 'USDT', '1000')]);
      l.apply('2', [p('house:swap', 'USDT', '-1000'), p('house:funding', 'USDT', '1000')]);
      l.apply('3', [
        p('house:funding', 'USDT', '-1000'),
        p('market', 'USDT', '1000'),
        p('market', 'BTC', '-0.01666666'),
        p('house:funding', 'BTC', '0.01665'),
        p('fees', 'BTC', '0.00001666'),
      ]);
      return l;
    };

    it('finds a busy ledger conserved', () => {
      const a = busy().audit();
      assert.equal(a.conserved, true);
      assert.deepEqual(a.problems, []);
      assert.equal(a.totals.get('USDT')?.toFixed(), a.initialTotals.get('USDT')?.toFixed());
    });

    it('detects money made out of nothing', () => {
      const s = busy().state();
      const a = auditLedger({ ...s, balances: tamper(s.balances, 'fees', 'BTC', '1.00001666') });
      assert.equal(a.conserved, false);
      assert.ok(a.problems.some((x) => /BTC total/.test(x)));
    });

    it('detects a balance changed outside the journal even when the totals still agree', () => {
      const l = busy();
      const s = l.state();
      let balances = tamper(s.balances, 'fees', 'BTC', '0');
      balances = tamper(balances, 'house:funding', 'BTC', '0.01666666');
      const a = auditLedger({ ...s, balances });
      assert.equal(a.conserved, false);
      assert.ok(a.problems.every((x) => !/total/.test(x)));
      assert.ok(a.problems.some((x) => /fees holds 0 BTC, the journal says 0.00001666/.test(x)));
      // the live ledger is untouched by the audit of a copy
      assert.equal(l.audit().conserved, true);
    });

    it('detects an account below zero that may not be', () => {
      const s = busy().state();
      const journal = [
        ...s.journal,
        { key: 'x', postings: [p('fees', 'BTC', '-1'), p('market', 'BTC', '1')] },
      ];
      let balances = tamper(s.balances, 'fees', 'BTC', '-0.99998334');
      balances = tamper(balances, 'market', 'BTC', '1000000000.98333334');
      const a = auditLedger({ ...s, journal, balances });
      assert.equal(a.conserved, false);
      assert.deepEqual(a.problems, ['fees is negative: -0.99998334 BTC']);
    });
  });
});
