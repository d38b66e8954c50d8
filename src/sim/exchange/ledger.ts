import { CURRENCIES, type Currency, type Totals } from '../../clients/wire.js';
import { formatUnits, type Units } from './fixed.js';

/**
 * The exchange's money, double-entry, in units (fixed.ts). Deposits come from an external
 * account, and every fill moves USDT only between the account, the house (the counterparty
 * of every fill) and the fee account; so the sum over accounts, house and fees always equals
 * what was deposited. The journal also tells, per account and client order id, how many times
 * a fill reached the ledger: more than once is a duplicate, whatever the idempotency layer
 * above believed.
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
  readonly #journal: Entry[] = [];
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
    this.#journal.push(entry);
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
    this.#journal.push(entry);
    return { accountDelta, shortfall };
  }

  get shortfall(): Units {
    return this.#shortfall;
  }

  /**
   * Client order ids (per account) whose fill was booked more than once; must stay 0.
   * Counted from the journal when asked, which spares every fill a lookup. O(journal).
   */
  doubleEffects(): number {
    const booked = new Map<string, Map<string, number>>();
    let doubles = 0;
    for (const entry of this.#journal) {
      if (Array.isArray(entry)) continue;
      let times = booked.get(entry.account);
      if (times === undefined) {
        times = new Map();
        booked.set(entry.account, times);
      }
      const n = (times.get(entry.clientOrderId) ?? 0) + 1;
      times.set(entry.clientOrderId, n);
      if (n === 2) doubles++;
    }
    return doubles;
  }

  get journalEntries(): number {
    return this.#journal.length;
  }

  /**
   * Replays the journal from nothing and compares: every entry balances per currency, the
   * replay gives exactly the balances held, nothing that may not be is negative, and the
   * accounts hold what was deposited. O(journal).
   */
  audit(): LedgerAudit {
    const problems: string[] = [];
    const replayed = new Map<string, Balances>();
    for (const entry of this.#journal) {
      const [what, ...postings] = Array.isArray(entry) ? entry : fillPostings(entry);
      const sums = zero();
      for (let i = 0; i < postings.length; i += 3) {
        const account = postings[i] as string;
        const currency = postings[i + 1] as Currency;
        const amount = postings[i + 2] as Units;
        let book = replayed.get(account);
        if (book === undefined) {
          book = zero();
          replayed.set(account, book);
        }
        book[currency] += amount;
        sums[currency] += amount;
      }
      for (const currency of CURRENCIES) {
        if (sums[currency] !== 0n) {
          problems.push(`entry ${what} does not balance: ${currency} sums to ${formatUnits(sums[currency])}`);
        }
      }
    }
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

  #book(account: string): Balances {
    const book = this.#books.get(account);
    if (book === undefined) throw new Error(`unknown exchange account ${account}`);
    return book;
  }
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
