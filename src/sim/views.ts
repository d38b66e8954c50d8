import type { Balances, Currency, LedgerView, Totals } from '../clients/wire.js';
import { fmt, type Money } from '../domain/money.js';
import type { Ledger } from './ledger.js';

/** The ledger as GET /ledger shows it; `prefix` narrows the effect counts to some keys (one run, one order). */
export function ledgerView(
  ledger: Ledger,
  prefix: string,
  calls: { overlaps: number; replays: number },
): LedgerView {
  const audit = ledger.audit();
  const balances: Balances = {};
  for (const [account, book] of ledger.state().balances) balances[account] = amounts(book);
  const effects: Record<string, number> = {};
  for (const [key, times] of ledger.effects) if (key.startsWith(prefix)) effects[key] = times;
  return {
    balances,
    totals: amounts(audit.totals),
    initialTotals: amounts(audit.initialTotals),
    conserved: audit.conserved,
    problems: audit.problems,
    doubleEffects: ledger.doubleEffects,
    ...calls,
    journalEntries: ledger.journalEntries,
    effects,
  };
}

function amounts(book: ReadonlyMap<Currency, Money>): Totals {
  const out: Totals = {};
  for (const [currency, amount] of book) out[currency] = fmt(amount);
  return out;
}
