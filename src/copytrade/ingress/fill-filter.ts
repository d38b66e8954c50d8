import type { LeadSignalSource } from '../domain/settings.js';
import type { TraderSignal } from '../domain/signal.js';
import { type IngressError, ingressError } from './errors.js';
import { checkSignal, isId } from './signal-schema.js';

/**
 * Which trading-system fill events become signals: only fills of a lead trader's account on
 * an instrument that trader leads, of a lead whose signals come from its fills (lead setting
 * `signalSource`), and not fills of copy orders. Almost every event is
 * someone else's, so the common case is decided from the raw text without parsing it. Pure.
 *
 * A fill event (the exchange simulator's `/exchange/events`, Kafka in production):
 *
 *     {"type":"fill","account":"a1","instrument":"BTC-USDT-SWAP","side":"long","action":"open",
 *      "qty":"2","price":"64000.5","leverage":10,"positionBefore":"0","clientOrderId":"c1",
 *      "filledMs":1764000000000,"fillId":"f-981"}
 *
 * becomes the TraderSignal of the trader leading from account `a1`, with signalId
 * `fill-{fillId}`: a fill delivered twice is one signal. A liquidation's fill carries
 * `"liquidation":true`, and so does its signal; it is the lead's signal whatever the lead's
 * signal source (a lead's frames cannot tell a liquidation: frame.ts refuses one).
 */

/** Signal ids of fills; a trader's own frames may not use it (so they cannot pre-empt a fill). */
export const FILL_SIGNAL_PREFIX = 'fill-';

export interface Leader {
  /** the trading-system account the trader trades from */
  readonly account: string;
  readonly traderId: string;
  /** the instruments this trader leads; fills on others are not copied */
  readonly instruments: readonly string[];
  /** frames: this trader's fills mirror its frames and are dropped; fills: they are its signals */
  readonly signalSource: LeadSignalSource;
}

/** What the ingress checks a lead's signal against, from either source. */
export interface LeadView {
  readonly signalSource: LeadSignalSource;
  readonly instruments: ReadonlySet<string>;
}

interface Led extends LeadView {
  readonly traderId: string;
}

/**
 * Lead traders by account (the fill filter) and by trader (the frames); immutable: a
 * refresh builds a new table and swaps it in.
 */
export class LeaderTable {
  static readonly EMPTY = new LeaderTable([]);
  readonly #byAccount = new Map<string, Led>();
  readonly #byTrader = new Map<string, LeadView>();

  constructor(leaders: Iterable<Leader>) {
    for (const l of leaders) {
      if (!isId(l.traderId)) throw new Error(`leader of account ${l.account}: bad trader id "${l.traderId}"`);
      const had = this.#byAccount.get(l.account);
      if (had && had.traderId !== l.traderId) {
        throw new Error(`account ${l.account} is led by both ${had.traderId} and ${l.traderId}`);
      }
      const lead = this.#byTrader.get(l.traderId);
      if (lead && lead.signalSource !== l.signalSource) {
        throw new Error(`${l.traderId} is given both frames and fills as its signal source`);
      }
      const instruments = new Set([...(lead?.instruments ?? []), ...l.instruments]);
      this.#byAccount.set(l.account, { traderId: l.traderId, signalSource: l.signalSource, instruments });
      this.#byTrader.set(l.traderId, { signalSource: l.signalSource, instruments });
    }
  }

  /** What `traderId` leads and where its signals come from; undefined: not a lead (yet). */
  lead(traderId: string): LeadView | undefined {
    return this.#byTrader.get(traderId);
  }

  get size(): number {
    return this.#byAccount.size;
  }

  has(account: string): boolean {
    return this.#byAccount.has(account);
  }

  /** Whether `account` is a lead's whose signals are its frames (its fills are dropped). */
  framesLead(account: string): boolean {
    return this.#byAccount.get(account)?.signalSource === 'frames';
  }

  /** The trader leading `instrument` from `account`, if any. */
  leaderOf(account: string, instrument: string): string | undefined {
    const led = this.#byAccount.get(account);
    return led?.instruments.has(instrument) ? led.traderId : undefined;
  }
}

/**
 * `frames-lead`: a fill of a lead whose signals are its frames. Not bad input: the lead's own
 * trading, which its frames already told (copying both would copy the trade twice).
 */
export type DropReason = 'not-leader' | 'not-led' | 'not-fill' | 'copy-order' | 'frames-lead';

export const DROP_REASONS: readonly DropReason[] = [
  'not-leader',
  'not-led',
  'not-fill',
  'copy-order',
  'frames-lead',
];

export type FillVerdict =
  | { kind: 'signal'; signal: TraderSignal }
  | { kind: 'drop'; reason: DropReason }
  | { kind: 'invalid'; error: IngressError };

// Drops are shared constants: the cheap path allocates nothing.
const DROP: Record<DropReason, FillVerdict> = {
  'not-leader': { kind: 'drop', reason: 'not-leader' },
  'not-led': { kind: 'drop', reason: 'not-led' },
  'not-fill': { kind: 'drop', reason: 'not-fill' },
  'copy-order': { kind: 'drop', reason: 'copy-order' },
  'frames-lead': { kind: 'drop', reason: 'frames-lead' },
};

export interface FillFilterOptions {
  /**
   * Whether a fill is of a copy order (placed by tradeflow for a copier); those never become
   * signals, or a lead trader who also copies would re-broadcast what it copied. Default:
   * isCopyOrderId.
   */
  readonly isCopyOrder?: (clientOrderId: string) => boolean;
}

/** Copy orders carry the client order id `{signalId}:{copierId}`; signal ids hold no `:`. */
export const isCopyOrderId = (clientOrderId: string): boolean => clientOrderId.includes(':');

const ACCOUNT_KEY = '"account":"';
/** how a liquidation's fill reads in raw text (the exchange prints no space) */
const LIQUIDATION_MARK = '"liquidation":true';

/**
 * The top-level account of an event's raw JSON, found without parsing, or undefined when it
 * cannot be read that way (whitespace after the colon, escapes): then the event is parsed.
 * Sound for flat events: inside a JSON string every `"` is escaped, so `"account":"` can
 * only be a key; a fill event has no nested object that could hold another `account`.
 */
export function peekAccount(text: string): string | undefined {
  const at = text.indexOf(ACCOUNT_KEY);
  if (at < 0) return undefined;
  const start = at + ACCOUNT_KEY.length;
  const end = text.indexOf('"', start);
  if (end < 0) return undefined;
  const account = text.slice(start, end);
  return account.includes('\\') ? undefined : account;
}

/** Decides one event given as raw JSON text. */
export function filterFillText(
  text: string,
  leaders: LeaderTable,
  opts: FillFilterOptions = {},
): FillVerdict {
  const account = peekAccount(text);
  if (account !== undefined && !leaders.has(account)) return DROP['not-leader'];
  if (account !== undefined && leaders.framesLead(account) && !text.includes(LIQUIDATION_MARK))
    return DROP['frames-lead'];
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    return { kind: 'invalid', error: ingressError('BAD_JSON', 'event is not JSON') };
  }
  return filterFill(event, leaders, opts);
}

/** Decides one parsed event. */
export function filterFill(event: unknown, leaders: LeaderTable, opts: FillFilterOptions = {}): FillVerdict {
  if (typeof event !== 'object' || event === null) return DROP['not-fill'];
  const e = event as Record<string, unknown>;
  if (e.type !== 'fill') return DROP['not-fill'];
  if (typeof e.account !== 'string' || !leaders.has(e.account)) return DROP['not-leader'];
  // a liquidation is the exchange's, not the trader's: its frames never tell it (frame.ts refuses one)
  if (leaders.framesLead(e.account) && e.liquidation !== true) return DROP['frames-lead'];
  if (typeof e.instrument !== 'string') {
    return {
      kind: 'invalid',
      error: ingressError('INVALID_SIGNAL', 'expected a string', 'event.instrument'),
    };
  }
  const traderId = leaders.leaderOf(e.account, e.instrument);
  if (traderId === undefined) return DROP['not-led'];
  const clientOrderId = e.clientOrderId;
  if (clientOrderId !== undefined && clientOrderId !== null && typeof clientOrderId !== 'string') {
    return {
      kind: 'invalid',
      error: ingressError('INVALID_SIGNAL', 'expected a string', 'event.clientOrderId'),
    };
  }
  if (typeof clientOrderId === 'string' && (opts.isCopyOrder ?? isCopyOrderId)(clientOrderId)) {
    return DROP['copy-order'];
  }

  const fillId = typeof e.fillId === 'number' && Number.isSafeInteger(e.fillId) ? String(e.fillId) : e.fillId;
  if (!isId(fillId) || fillId.length > 64 - FILL_SIGNAL_PREFIX.length) {
    return {
      kind: 'invalid',
      error: ingressError(
        'INVALID_SIGNAL',
        'expected up to 59 characters of A-Z a-z 0-9 _ . -',
        'event.fillId',
      ),
    };
  }
  // leverage may come as a numeric string from systems that keep every number as text
  const leverage =
    typeof e.leverage === 'string' && /^\d{1,4}(\.\d+)?$/.test(e.leverage) ? Number(e.leverage) : e.leverage;
  const checked = checkSignal(
    {
      signalId: FILL_SIGNAL_PREFIX + fillId,
      traderId,
      instrument: e.instrument,
      action: e.action,
      side: e.side,
      qty: e.qty,
      price: e.price,
      leverage,
      positionBefore: e.positionBefore,
      filledMs: e.filledMs,
      liquidation: e.liquidation,
    },
    'event',
  );
  return checked.ok ? { kind: 'signal', signal: checked.value } : { kind: 'invalid', error: checked.error };
}
