import { CURRENCIES, type Currency } from '../clients/wire.js';
import { fmt, Money } from '../domain/money.js';
import { Rejected } from './errors.js';

/**
 * A double-entry ledger: every effect is one journal entry whose postings sum to zero per
 * currency, so money is only ever moved, never made. Pure and synchronous: the simulator
 * decides and applies an effect in one tick, which is what makes duplicates impossible.
 */

export interface Posting {
  readonly account: string;
  readonly currency: Currency;
  /** signed: negative leaves the account, positive enters it */
  readonly amount: Money;
}

export interface JournalEntry {
  readonly key: string;
  readonly postings: readonly Posting[];
}

export interface LedgerPolicy {
  /** Opening balances of an account seen for the first time; undefined if no such account may exist. */
  opening(account: string): Partial<Record<Currency, string>> | undefined;
  /** Whether the account may go below zero (the house may be short); others are refused. */
  mayGoNegative(account: string): boolean;
}

export type Book = ReadonlyMap<string, ReadonlyMap<Currency, Money>>;

export interface LedgerState {
  readonly openings: Book;
  readonly balances: Book;
  readonly journal: Iterable<JournalEntry>;
  readonly mayGoNegative: (account: string) => boolean;
}

export interface Audit {
  totals: Map<Currency, Money>;
  initialTotals: Map<Currency, Money>;
  conserved: boolean;
  /** why `conserved` is false; empty when it is true */
  problems: string[];
}

const ZERO = new Money(0);

export class Ledger {
  readonly #policy: LedgerPolicy;
  readonly #openings = new Map<string, Map<Currency, Money>>();
  readonly #balances = new Map<string, Map<Currency, Money>>();
  /**
   * Each entry kept as one JSON string `[key, [[account, currency, amount], ...]]`: a fraction
   * of the memory of posting objects, which adds up over a long benchmark. Only the audit reads it.
   */
  readonly #journal: string[] = [];
  readonly #effects = new Map<string, number>();
  #doubleEffects = 0;

  /** `accounts` are opened at once, so that their opening balances count from the start. */
  constructor(policy: LedgerPolicy, accounts: readonly string[] = []) {
    this.#policy = policy;
    for (const account of accounts) this.#account(account);
  }

  balance(account: string, currency: Currency): Money {
    return this.#account(account).get(currency) ?? ZERO;
  }

  /**
   * Applies the postings as the effect of `key`, all or none. Refuses (Rejected
   * INSUFFICIENT_BALANCE) if an account that may not go negative would. Unbalanced postings
   * or an unknown account are a bug of the caller and throw a plain Error.
   */
  apply(key: string, postings: readonly Posting[]): void {
    assertBalanced(postings);
    for (const p of postings) {
      const book = this.#account(p.account);
      if (!p.amount.isNegative() || this.#policy.mayGoNegative(p.account)) continue;
      const before = book.get(p.currency) ?? ZERO;
      let after = before;
      for (const q of postings)
        if (q.account === p.account && q.currency === p.currency) after = after.plus(q.amount);
      if (after.isNegative()) {
        throw new Rejected(
          'INSUFFICIENT_BALANCE',
          `${p.account} holds ${fmt(before)} ${p.currency}, needs ${fmt(p.amount.negated())}`,
        );
      }
    }
    for (const p of postings) {
      const book = this.#account(p.account);
      book.set(p.currency, (book.get(p.currency) ?? ZERO).plus(p.amount));
    }
    this.#journal.push(
      JSON.stringify([key, postings.map((p) => [p.account, p.currency, p.amount.toFixed()])]),
    );
    const times = (this.#effects.get(key) ?? 0) + 1;
    this.#effects.set(key, times);
    if (times === 2) this.#doubleEffects++;
  }

  /** How many times the effect of each key was applied (counted here, not by the idempotency layer). */
  get effects(): ReadonlyMap<string, number> {
    return this.#effects;
  }

  /** Number of keys whose effect was applied more than once; must stay 0. */
  get doubleEffects(): number {
    return this.#doubleEffects;
  }

  get journalEntries(): number {
    return this.#journal.length;
  }

  /** The live state (not a copy), for audit and views. */
  state(): LedgerState {
    return {
      openings: this.#openings,
      balances: this.#balances,
      journal: { [Symbol.iterator]: () => decode(this.#journal) },
      mayGoNegative: (account) => this.#policy.mayGoNegative(account),
    };
  }

  audit(): Audit {
    return auditLedger(this.state());
  }

  #account(account: string): Map<Currency, Money> {
    let book = this.#balances.get(account);
    if (book !== undefined) return book;
    const opening = this.#policy.opening(account);
    if (opening === undefined) throw new Error(`unknown account ${account}`);
    const initial = new Map<Currency, Money>();
    for (const [currency, amount] of Object.entries(opening) as [Currency, string][]) {
      initial.set(currency, new Money(amount));
    }
    this.#openings.set(account, initial);
    book = new Map(initial);
    this.#balances.set(account, book);
    return book;
  }
}

function* decode(journal: readonly string[]): Generator<JournalEntry> {
  for (const line of journal) {
    const [key, postings] = JSON.parse(line) as [string, [string, Currency, string][]];
    yield {
      key,
      postings: postings.map(([account, currency, amount]) => ({
        account,
        currency,
        amount: new Money(amount),
      })),
    };
  }
}

export function assertBalanced(postings: readonly Posting[]): void {
  for (const currency of CURRENCIES) {
    let sum = ZERO;
    for (const p of postings) if (p.currency === currency) sum = sum.plus(p.amount);
    if (!sum.isZero()) throw new Error(`postings do not balance: ${currency} sums to ${fmt(sum)}`);
  }
}

/**
 * Conserved means: each currency's total equals its opening total, replaying the journal
 * over the opening balances gives exactly the current balances, and no account that may not
 * go negative is negative. The replay catches a balance changed outside the journal even
 * when the totals still agree.
 */
export function auditLedger(state: LedgerState): Audit {
  const problems: string[] = [];
  const totals = sumBook(state.balances);
  const initialTotals = sumBook(state.openings);
  for (const currency of CURRENCIES) {
    const now = totals.get(currency) ?? ZERO;
    const then = initialTotals.get(currency) ?? ZERO;
    if (!now.equals(then)) problems.push(`${currency} total is ${fmt(now)}, was ${fmt(then)}`);
  }

  const replayed = new Map<string, Map<Currency, Money>>();
  for (const [account, book] of state.openings) replayed.set(account, new Map(book));
  for (const entry of state.journal) {
    for (const p of entry.postings) {
      let book = replayed.get(p.account);
      if (book === undefined) {
        book = new Map();
        replayed.set(p.account, book);
      }
      book.set(p.currency, (book.get(p.currency) ?? ZERO).plus(p.amount));
    }
  }
  for (const account of new Set([...replayed.keys(), ...state.balances.keys()])) {
    for (const currency of CURRENCIES) {
      const expected = replayed.get(account)?.get(currency) ?? ZERO;
      const actual = state.balances.get(account)?.get(currency) ?? ZERO;
      if (!expected.equals(actual)) {
        problems.push(`${account} holds ${fmt(actual)} ${currency}, the journal says ${fmt(expected)}`);
      }
      if (actual.isNegative() && !state.mayGoNegative(account)) {
        problems.push(`${account} is negative: ${fmt(actual)} ${currency}`);
      }
    }
  }
  return { totals, initialTotals, conserved: problems.length === 0, problems };
}

function sumBook(book: Book): Map<Currency, Money> {
  const sums = new Map<Currency, Money>();
  for (const balances of book.values()) {
    for (const [currency, amount] of balances) sums.set(currency, (sums.get(currency) ?? ZERO).plus(amount));
  }
  return sums;
}
