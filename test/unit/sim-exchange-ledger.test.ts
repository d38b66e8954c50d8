import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ONE } from '../../src/sim/exchange/fixed.js';
import { ExchangeLedger } from '../../src/sim/exchange/ledger.js';

/** A small deterministic generator: the same data on every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** `orders` fills over `accounts` funded accounts; some client order ids booked again, some losses past the wallet. */
function fill(ledger: ExchangeLedger, accounts: number, orders: number, seed: number): void {
  const next = random(seed);
  for (let a = 0; a < accounts; a++) {
    ledger.open(`a${a}`);
    ledger.deposit(`a${a}`, new Map([['USDT', 1000n * ONE]]));
  }
  for (let i = 0; i < orders; i++) {
    const account = `a${Math.floor(next() * accounts)}`;
    // one order in 50 reuses an earlier id: a double effect the audit must count once per id
    const id = next() < 0.02 && i > 0 ? `o${Math.floor(next() * i)}` : `o${i}`;
    const fee = BigInt(Math.floor(next() * 1000)) * 10_000n;
    const pnl = BigInt(Math.floor((next() - 0.5) * 400_000)) * 10_000n;
    ledger.settleFill(account, id, fee, pnl);
    if (i % 97 === 0) ledger.deposit(account, new Map([['USDT', 5n * ONE]]));
  }
}

describe('sim exchange ledger: the audit is kept as the journal is written', () => {
  it('equals the audit recomputed from the whole journal', () => {
    for (const seed of [1, 2, 3]) {
      const ledger = new ExchangeLedger();
      fill(ledger, 7, 3000, seed);
      const { doubleEffects, ...replayed } = ledger.replayAudit();
      assert.deepEqual(ledger.audit(), replayed);
      assert.equal(ledger.doubleEffects(), doubleEffects);
      assert.ok(doubleEffects > 0, 'the data holds double effects');
      assert.equal(ledger.audit().conserved, true);
    }
  });

  it('reads without the journal: 200,000 orders, the journal dropped, the same report, and later doubles still counted', () => {
    const ledger = new ExchangeLedger();
    fill(ledger, 50, 200_000, 7);
    const { doubleEffects, ...replayed } = ledger.replayAudit();
    const before = { audit: ledger.audit(), doubles: ledger.doubleEffects() };
    assert.deepEqual(before.audit, replayed);
    assert.equal(before.doubles, doubleEffects);

    ledger.compactJournal();
    assert.equal(ledger.journalHeld, 0);
    assert.deepEqual(ledger.audit(), before.audit);
    assert.equal(ledger.doubleEffects(), before.doubles);
    assert.ok(ledger.journalEntries > 200_000);

    // an id booked before the journal was dropped, booked again: still a double effect
    ledger.settleFill('a0', 'fresh', 0n, 0n);
    assert.equal(ledger.doubleEffects(), before.doubles);
    ledger.settleFill('a0', 'fresh', 0n, 0n);
    assert.equal(ledger.doubleEffects(), before.doubles + 1);
    ledger.settleFill('a0', 'fresh', 0n, 0n);
    assert.equal(ledger.doubleEffects(), before.doubles + 1);
    assert.equal(ledger.audit().conserved, true);
    assert.throws(() => ledger.replayAudit(), /compacted/);
  });
});
