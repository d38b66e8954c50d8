import {
  type FilledOrder,
  type HistoryFill,
  INSTRUMENT_IDS,
  type InstrumentId,
  type TradeHistoryView,
} from '../../clients/exchange-wire.js';
import { InvalidRequest, Rejected } from '../errors.js';
import { choice, object } from '../fields.js';
import { formatUnits as fmt, parseUnits, type Units } from './fixed.js';
import { accountId } from './requests.js';

/**
 * Each account's trade history as the exchange saw it: its fill legs, and its USDT wallet
 * balance after each fill and deposit (deposits as flows, which a NAV curve leaves out of
 * performance). Lead eligibility and the leaderboard read it over `GET /exchange/history`;
 * a past history can be imported so that 30- and 90-day windows are testable at once.
 *
 * Bounded: the latest `limit` fills and balance points per account, the oldest dropped
 * first (a benchmark places millions of orders); the first fill's time is kept apart.
 */

export const DEFAULT_HISTORY_LIMIT = 10_000;

interface Point {
  readonly atMs: number;
  readonly balance: Units;
  readonly flow: Units;
}

interface Leg {
  readonly atMs: number;
  readonly instrument: InstrumentId;
  readonly side: HistoryFill['side'];
  readonly action: HistoryFill['action'];
  readonly qty: string;
  readonly price: string;
  readonly fee: Units;
  readonly realisedPnl: string;
  readonly positionAfter: string;
}

interface AccountHistory {
  firstFillMs: number | null;
  fills: Leg[];
  balances: Point[];
}

export class TradeHistory {
  readonly #accounts = new Map<string, AccountHistory>();

  constructor(
    private readonly limit = DEFAULT_HISTORY_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  /** A deposit (or withdrawal) of USDT moved the wallet to `balance`. */
  deposited(account: string, amount: Units, balance: Units): void {
    if (amount === 0n) return;
    push(this.#of(account).balances, { atMs: this.now(), balance, flow: amount }, this.limit);
  }

  /** A new (not replayed) fill; `balance` is the wallet after it. */
  filled(order: FilledOrder, balance: Units): void {
    const h = this.#of(order.account);
    const fee = parseUnits(order.fee) ?? 0n;
    const total = parseUnits(order.qty) ?? 0n;
    let left = fee;
    order.legs.forEach((leg, i) => {
      // the order's fee shared by quantity, the last leg taking what rounding left over
      const share =
        i === order.legs.length - 1 || total === 0n ? left : (fee * (parseUnits(leg.qty) ?? 0n)) / total;
      left -= share;
      push(
        h.fills,
        {
          atMs: order.filledMs,
          instrument: order.instrument,
          side: leg.side,
          action: leg.action,
          qty: leg.qty,
          price: order.price,
          fee: share,
          realisedPnl: leg.realisedPnl,
          positionAfter: leg.positionAfter,
        },
        this.limit,
      );
    });
    h.firstFillMs ??= order.filledMs;
    push(h.balances, { atMs: order.filledMs, balance, flow: 0n }, this.limit);
  }

  /** The account's history from `sinceMs` on (all of it when null). */
  view(account: string, sinceMs: number | null): TradeHistoryView {
    const h = this.#accounts.get(account);
    const from = sinceMs ?? Number.NEGATIVE_INFINITY;
    return {
      account,
      firstFillMs: h?.firstFillMs ?? null,
      fills: (h?.fills ?? []).filter((f) => f.atMs >= from).map((f) => ({ ...f, fee: fmt(f.fee) })),
      balances: (h?.balances ?? [])
        .filter((b) => b.atMs >= from)
        .map((b) => ({ atMs: b.atMs, balance: fmt(b.balance), flow: fmt(b.flow) })),
    };
  }

  /** Replaces the account's history with `req`'s (parsed by parseHistoryImport). */
  replace(req: ParsedImport, wallet: Units): void {
    const last = req.balances.at(-1);
    if (last !== undefined && last.balance !== wallet) {
      throw new Rejected(
        'HISTORY_MISMATCH',
        `the last balance point is ${fmt(last.balance)} USDT, the wallet of ${req.account} holds ${fmt(wallet)}`,
      );
    }
    const fills = req.fills.slice(-this.limit);
    this.#accounts.set(req.account, {
      firstFillMs: req.fills[0]?.atMs ?? null,
      fills,
      balances: req.balances.slice(-this.limit),
    });
  }

  #of(account: string): AccountHistory {
    let h = this.#accounts.get(account);
    if (h === undefined) {
      h = { firstFillMs: null, fills: [], balances: [] };
      this.#accounts.set(account, h);
    }
    return h;
  }
}

function push<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  // dropped in chunks: one splice per 1/8 of the limit, not one shift per record
  if (list.length > limit + Math.max(1, limit >> 3)) list.splice(0, list.length - limit);
}

export interface ParsedImport {
  account: string;
  fills: Leg[];
  balances: Point[];
}

const MAX_IMPORT = 100_000;

/** The body of `POST /exchange/history`, checked field by field; records sorted by time. */
export function parseHistoryImport(body: unknown, now: number): ParsedImport {
  const b = object(body, 'history');
  for (const key of Object.keys(b)) {
    if (!['account', 'fills', 'balances'].includes(key)) throw new InvalidRequest(`${key}: unknown field`);
  }
  const account = accountId(typeof b.account === 'string' ? b.account : null);
  const list = (field: string): unknown[] => {
    const v = b[field] ?? [];
    if (!Array.isArray(v) || v.length > MAX_IMPORT) {
      throw new InvalidRequest(`${field}: expected a list of at most ${MAX_IMPORT} records`);
    }
    return v;
  };
  const fills = list('fills').map((f, i) => parseFill(f, `fills[${i}]`, now));
  const balances = list('balances').map((p, i) => parsePoint(p, `balances[${i}]`, now));
  // stable: records of one moment keep the order they were given in
  fills.sort((x, y) => x.atMs - y.atMs);
  balances.sort((x, y) => x.atMs - y.atMs);
  return { account, fills, balances };
}

function timeAt(o: Record<string, unknown>, where: string, now: number): number {
  const v = o.atMs;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidRequest(`${where}.atMs: expected a time in ms since the epoch`);
  }
  if (v > now) throw new InvalidRequest(`${where}.atMs: ${v} is in the future (a history is past)`);
  return v;
}

function unitsAt(
  o: Record<string, unknown>,
  key: string,
  where: string,
  sign: 'any' | 'positive' | 'not-negative',
): Units {
  const v = o[key];
  const u = typeof v === 'string' ? parseUnits(v) : undefined;
  const ok = u !== undefined && (sign === 'any' || (sign === 'positive' ? u > 0n : u >= 0n));
  if (!ok) {
    throw new InvalidRequest(
      `${where}.${key}: expected a ${sign === 'any' ? '' : `${sign} `}decimal string of at most 8 places`,
    );
  }
  return u as Units;
}

function parseFill(value: unknown, where: string, now: number): Leg {
  const o = object(value, where);
  const action = choice(o, 'action', ['open', 'close'] as const);
  return {
    atMs: timeAt(o, where, now),
    instrument: choice(o, 'instrument', INSTRUMENT_IDS),
    side: choice(o, 'side', ['long', 'short'] as const),
    action,
    qty: fmt(unitsAt(o, 'qty', where, 'positive')),
    price: fmt(unitsAt(o, 'price', where, 'positive')),
    fee: unitsAt(o, 'fee', where, 'not-negative'),
    realisedPnl: action === 'close' ? fmt(unitsAt(o, 'realisedPnl', where, 'any')) : '0',
    positionAfter:
      o.positionAfter === undefined ? '0' : fmt(unitsAt(o, 'positionAfter', where, 'not-negative')),
  };
}

function parsePoint(value: unknown, where: string, now: number): Point {
  const o = object(value, where);
  return {
    atMs: timeAt(o, where, now),
    balance: unitsAt(o, 'balance', where, 'not-negative'),
    flow: o.flow === undefined ? 0n : unitsAt(o, 'flow', where, 'any'),
  };
}
