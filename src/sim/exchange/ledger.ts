import { CURRENCIES, type Currency, type Totals } from '../../clients/wire.js';
import { formatUnits, type Units } from './fixed.js';

/**
 * The exchange's money, double-entry, in units (fixed.ts). Deposits come from an external
 * account, and every fill moves USDT only between the account, the house (the counterparty
 * of every fill) and the fee account; so the sum over accounts, house and fees always equals
 * what was deposited. The journal also tells, per account and client order id, how many times
 * a fill reached the ledger: more than once is a duplicate, whatever the idempotency layer
 * above believed; and, per transfer key, how many transfers carried it.
 *
 * The audit is kept as each entry is written (its postings summed into a replay of the
 * journal, its balance per currency checked, its client order id counted), so reading it
 * costs O(accounts) however many orders the exchange took: a benchmark of millions of orders
 * can still ask. `replayAudit()` is the same audit recomputed from the journal, the
 * reference the kept one is tested against.
 */

export const HOUSE = 'exchange:house';
export const FEES = 'exchange:fees';
/** where deposits come from; goes negative by everything deposited */
export const DEPOSITS = 'exchange:deposits';
const SYSTEM = [HOUSE, FEES, DEPOSITS];
const MAY_GO_NEGATIVE = new Set([HOUSE, DEPOSITS]);

/** Account ids the exchange keeps for itself. */
export const isSystemAccount = (account: string): boolean => account.startsWith('exchange:');

type Balances = Record<Currency, Units>;

/**
 * A journal entry as the audit reads it: what it was (a client order id, or `deposit:n`),
 * then (account, currency, amount) triples. Flat arrays cost far less than posting objects
 * over a long run.
 */
type Postings = [what: string, ...postings: (string | Units)[]];

/**
 * A fill, most of the journal: its three USDT postings (the account, the fee account, the
 * house) as fields, half the memory of their Postings. Only the audit and the duplicate
 * count read them.
 */
interface FillEntry {
  readonly clientOrderId: string;
  readonly account: string;
  readonly accountDelta: Units;
  readonly fee: Units;
  readonly houseDelta: Units;
}

type Entry = Postings | FillEntry;

export interface Settlement {
  /** what the account's USDT changed by: realised PnL less the fee, no lower than minus the wallet */
  accountDelta: Units;
  /** the part of a loss (and fee) beyond the wallet, borne by the house */
  shortfall: Units;
}

export interface LedgerAudit {
  conserved: boolean;
  problems: string[];
  totals: Totals;
  deposits: Totals;
  house: Totals;
  fees: Totals;
}

const zero = (): Balances => ({ USDT: 0n, BTC: 0n, ETH: 0n });

export class ExchangeLedger {
  readonly #books = new Map<string, Balances>();
  #journal: Entry[] = [];
  /** false once compactJournal() dropped entries: the journal no longer replays from nothing */
  #journalWhole = true;
  #journalEntries = 0;
  /** the journal's postings summed per account as each entry is written: a replay kept up to date */
  readonly #replayed = new Map<string, Balances>();
  /** what the journal's own entries say is wrong (an entry that does not balance), found as written */
  readonly #entryProblems: string[] = [];
  /** per account, the client order ids whose fill was booked: a second booking is a double effect */
  readonly #booked = new Map<string, Set<string>>();
  /** client order ids booked a second time (once each, however many more times) */
  readonly #doubled = new Map<string, Set<string>>();
  #doubles = 0;
  /** per transfer key, the journal entries that carry it: more than one is a double effect */
  readonly #transferred = new Map<string, number>();
  #doubledTransfers = 0;
  #deposits = 0;
  #shortfall = 0n;
  readonly #house: Balances;
  readonly #fees: Balances;

  constructor() {
    for (const account of SYSTEM) this.open(account);
    this.#house = this.#book(HOUSE);
    this.#fees = this.#book(FEES);
  }

  /** Opens an account with nothing in it; opening it again changes nothing. */
  open(account: string): void {
    if (!this.#books.has(account)) this.#books.set(account, zero());
  }

  balance(account: string, currency: Currency): Units {
    return this.#book(account)[currency];
  }

  deposit(account: string, amounts: ReadonlyMap<Currency, Units>): void {
    const to = this.#book(account);
    const from = this.#book(DEPOSITS);
    const entry: Postings = [`deposit:${++this.#deposits}`];
    for (const [currency, amount] of amounts) {
      if (amount <= 0n) continue;
      from[currency] -= amount;
      to[currency] += amount;
      entry.push(DEPOSITS, currency, -amount, account, currency, amount);
    }
    this.#write(entry);
  }

  /**
   * Moves USDT between two accounts as the effect of `key` (a funding transfer). The caller
   * has checked the funds and the key; the ledger counts how often each key was journalled.
   */
  transfer(key: string, from: string, to: string, amount: Units): void {
    const source = this.#book(from);
    const target = this.#book(to);
    source.USDT -= amount;
    target.USDT += amount;
    this.#write([`transfer:${key}`, from, 'USDT', -amount, to, 'USDT', amount]);
    const n = (this.#transferred.get(key) ?? 0) + 1;
    this.#transferred.set(key, n);
    if (n === 2) this.#doubledTransfers++;
  }

  /** How many journal entries carry the transfer key (0: never applied). */
  transferCount(key: string): number {
    return this.#transferred.get(key) ?? 0;
  }

  /** Transfer keys journalled more than once; must stay 0. */
  get doubledTransfers(): number {
    return this.#doubledTransfers;
  }

  /**
   * Books the fill of one order: the fee to the fee account, the realised PnL against the
   * house. A loss the wallet cannot pay is cut to the wallet, the house taking the rest
   * (there is no liquidation here to have prevented it).
   */
  settleFill(account: string, clientOrderId: string, fee: Units, pnl: Units): Settlement {
    const balances = this.#book(account);
    const wallet = balances.USDT;
    let accountDelta = pnl - fee;
    let shortfall = 0n;
    if (wallet + accountDelta < 0n) {
      shortfall = -(wallet + accountDelta);
      accountDelta = -wallet;
      this.#shortfall += shortfall;
    }
    const houseDelta = -(accountDelta + fee);
    balances.USDT += accountDelta;
    this.#fees.USDT += fee;
    this.#house.USDT += houseDelta;
    const entry: FillEntry = { clientOrderId, account, accountDelta, fee, houseDelta };
    this.#write(entry);
    return { accountDelta, shortfall };
  }

  get shortfall(): Units {
    return this.#shortfall;
  }

  /** Client order ids (per account) whose fill was booked more than once; must stay 0. O(1). */
  doubleEffects(): number {
    return this.#doubles;
  }

  /** Entries written since the start, compacted ones included. */
  get journalEntries(): number {
    return this.#journalEntries;
  }

  /** Entries still held (all of them until compactJournal()). */
  get journalHeld(): number {
    return this.#journal.length;
  }

  /**
   * Drops the journal's entries: the kept audit already holds what they proved, so a long
   * run can bound its memory. replayAudit() is no longer possible afterwards.
   */
  compactJournal(): void {
    this.#journal = [];
    this.#journalWhole = false;
  }

  /**
   * The audit as kept: every entry balanced per currency (checked as written), the journal's
   * replay gives exactly the balances held, nothing that may not be is negative, and the
   * accounts hold what was deposited. O(accounts), whatever the journal holds.
   */
  audit(): LedgerAudit {
    return this.#compare(this.#replayed, [...this.#entryProblems]);
  }

  /**
   * The same audit recomputed from the journal, from nothing: the reference the kept audit
   * is tested against, with the double effects counted again. O(journal).
   */
  replayAudit(): LedgerAudit & { doubleEffects: number } {
    if (!this.#journalWhole) throw new Error('the journal was compacted: it no longer replays from nothing');
    const problems: string[] = [];
    const replayed = new Map<string, Balances>();
    for (const entry of this.#journal) {
      const what = Array.isArray(entry) ? entry[0] : entry.clientOrderId;
      const sums = post(replayed, Array.isArray(entry) ? entry : fillPostings(entry));
      problems.push(...unbalanced(what, sums));
    }
    const booked = new Map<string, Map<string, number>>();
    let doubleEffects = 0;
    for (const entry of this.#journal) {
      if (Array.isArray(entry)) continue;
      let times = booked.get(entry.account);
      if (times === undefined) {
        times = new Map();
        booked.set(entry.account, times);
      }
      const n = (times.get(entry.clientOrderId) ?? 0) + 1;
      times.set(entry.clientOrderId, n);
      if (n === 2) doubleEffects++;
    }
    return { ...this.#compare(replayed, problems), doubleEffects };
  }

  /** The journal's replay against the balances held, and the totals against the deposits. */
  #compare(replayed: ReadonlyMap<string, Balances>, problems: string[]): LedgerAudit {
    const totals = zero();
    for (const [account, balances] of this.#books) {
      const expected = replayed.get(account) ?? zero();
      for (const currency of CURRENCIES) {
        const held = balances[currency];
        if (held !== expected[currency]) {
          problems.push(
            `${account} holds ${formatUnits(held)} ${currency}, the journal says ${formatUnits(expected[currency])}`,
          );
        }
        if (held < 0n && !MAY_GO_NEGATIVE.has(account)) {
          problems.push(`${account} is negative: ${formatUnits(held)} ${currency}`);
        }
        if (account !== DEPOSITS) totals[currency] += held;
      }
    }
    const paidIn = zero();
    const deposits = this.#book(DEPOSITS);
    for (const currency of CURRENCIES) {
      paidIn[currency] = -deposits[currency];
      if (totals[currency] !== paidIn[currency]) {
        problems.push(
          `${currency}: accounts hold ${formatUnits(totals[currency])}, ${formatUnits(paidIn[currency])} was deposited`,
        );
      }
    }
    return {
      conserved: problems.length === 0,
      problems,
      totals: amounts(totals),
      deposits: amounts(paidIn),
      house: amounts(this.#house),
      fees: amounts(this.#fees),
    };
  }

  /** Journals the entry and brings the kept audit up to date with it. */
  #write(entry: Entry): void {
    this.#journal.push(entry);
    this.#journalEntries++;
    if (Array.isArray(entry)) {
      const problems = unbalanced(entry[0], post(this.#replayed, entry));
      if (problems.length > 0 && this.#entryProblems.length < ENTRY_PROBLEMS_KEPT) {
        this.#entryProblems.push(...problems);
      }
      return;
    }
    // a fill's three postings, summed without building them (most of the journal)
    const to = replayedBook(this.#replayed, entry.account);
    to.USDT += entry.accountDelta;
    replayedBook(this.#replayed, FEES).USDT += entry.fee;
    replayedBook(this.#replayed, HOUSE).USDT += entry.houseDelta;
    const sum = entry.accountDelta + entry.fee + entry.houseDelta;
    if (sum !== 0n && this.#entryProblems.length < ENTRY_PROBLEMS_KEPT) {
      this.#entryProblems.push(...unbalanced(entry.clientOrderId, { ...zero(), USDT: sum }));
    }
    this.#countBooking(entry.account, entry.clientOrderId);
  }

  #countBooking(account: string, clientOrderId: string): void {
    let ids = this.#booked.get(account);
    if (ids === undefined) {
      ids = new Set();
      this.#booked.set(account, ids);
    }
    if (!ids.has(clientOrderId)) {
      ids.add(clientOrderId);
      return;
    }
    let doubled = this.#doubled.get(account);
    if (doubled === undefined) {
      doubled = new Set();
      this.#doubled.set(account, doubled);
    }
    if (!doubled.has(clientOrderId)) {
      doubled.add(clientOrderId);
      this.#doubles++;
    }
  }

  #book(account: string): Balances {
    const book = this.#books.get(account);
    if (book === undefined) throw new Error(`unknown exchange account ${account}`);
    return book;
  }
}

/** The words of the kept audit's entry problems are few: one is enough to be not conserved. */
const ENTRY_PROBLEMS_KEPT = 100;

function replayedBook(replayed: Map<string, Balances>, account: string): Balances {
  let book = replayed.get(account);
  if (book === undefined) {
    book = zero();
    replayed.set(account, book);
  }
  return book;
}

/** Adds an entry's postings to `replayed`; returns their sum per currency (zero when it balances). */
function post(replayed: Map<string, Balances>, entry: Postings): Balances {
  const sums = zero();
  for (let i = 1; i < entry.length; i += 3) {
    const currency = entry[i + 1] as Currency;
    const amount = entry[i + 2] as Units;
    replayedBook(replayed, entry[i] as string)[currency] += amount;
    sums[currency] += amount;
  }
  return sums;
}

function unbalanced(what: string, sums: Balances): string[] {
  return CURRENCIES.filter((c) => sums[c] !== 0n).map(
    (c) => `entry ${what} does not balance: ${c} sums to ${formatUnits(sums[c])}`,
  );
}

function fillPostings(f: FillEntry): Postings {
  return [
    f.clientOrderId,
    f.account,
    'USDT',
    f.accountDelta,
    FEES,
    'USDT',
    f.fee,
    HOUSE,
    'USDT',
    f.houseDelta,
  ];
}

/** Non-zero amounts as decimal strings. */
function amounts(balances: Balances): Totals {
  const out: Totals = {};
  for (const currency of CURRENCIES) {
    if (balances[currency] !== 0n) out[currency] = formatUnits(balances[currency]);
  }
  return out;
}
