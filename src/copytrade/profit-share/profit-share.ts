import { DownstreamError, type ExchangeClient } from '../../clients/exchange.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { fx, fxStr } from '../domain/fixed.js';
import {
  type Cycle,
  periodEndingAt,
  periodOf,
  profitShareKey,
  type Statement,
  settlePair,
} from '../domain/profit-share-cycle.js';
import { withPairLock } from './pair-lock.js';
import { type Leg, type PairRow, PairStore, type Pending } from './pair-store.js';

/** The exchange account every pair's withheld share waits in until its settlement. */
export const PROFIT_SHARE_ESCROW = 'exchange:escrow:profit-share';

/** How long a settlement waits for a pair another worker holds (a sweep of it takes a call or two). */
const SETTLE_LOCK_WAIT_MS = 30_000;

export interface PairRef {
  copierId: string;
  traderId: string;
}

/**
 * Where the integrator hangs the notices (src/copytrade/notices/ notify): called once a
 * withholding or a settlement is durable. A throw is logged, never undoes the money.
 */
export interface ProfitShareEvents {
  onWithheld?(e: PairRef & { key: string; amount: string }): unknown;
  onSettled?(e: PairRef & { by: 'cycle' | 'stop'; statement: Statement }): unknown;
}

export type PairOutcome =
  | { kind: 'settled'; statement: Statement }
  | { kind: 'deferred'; reason: 'open-slice' | 'period-settled'; statement: Statement }
  | { kind: 'busy' };

export interface SettleRun {
  period: string;
  settled: number;
  deferred: number;
  /** pairs settled in this period before this run (a run again, a stop) */
  already: number;
  failed: { copierId: string; traderId: string; error: string }[];
  /** USDT paid to traders and refunded to copiers by this run */
  payout: string;
  refund: string;
}

/**
 * Profit share with a high-water mark (profit-share-cycle.ts is the arithmetic), moving the
 * money through the exchange's funding transfers:
 *
 * - Withholding (`sweep`): per pair, what closes at a profit accrued (Σ share_accrued of the
 *   trader's slices) less what already moved goes from the copier's exchange account to
 *   PROFIT_SHARE_ESCROW. A copier without the funds is tried again on the next sweep.
 * - Settlement (`settleCycle`, `stop`): per pair, the withholding first, then settlePair
 *   on what is in escrow for it (escrowed − paid − refunded: the statement's `withheld` is
 *   what actually moved), the payout to the trader's account (named as the trader) and the
 *   refund to the copier's, keyed profitShareKey(copier, trader, period, leg).
 *
 * Every funding call is an outbox step: its body is written to copy_ps_pair.pending before
 * the call, and the call's effect (escrowed, or the statement and the pair's new state in
 * one transaction) is recorded after it with the outbox cleared. Whatever touches a pair
 * first finishes a pending call by sending the same body again, which the exchange answers
 * from its first reply if it had applied it: a crash anywhere moves no money twice and loses
 * none. A pair is worked on by one process at a time (pair-lock.ts).
 */
export class ProfitShare {
  readonly #store: PairStore;
  readonly #pool: Pool;
  readonly #exchange: Pick<ExchangeClient, 'transfer'>;
  readonly #log: Logger;
  readonly #events: ProfitShareEvents;
  readonly cycle: Cycle;

  constructor(deps: {
    pool: Pool;
    exchange: Pick<ExchangeClient, 'transfer'>;
    cycle: Cycle;
    log: Logger;
    events?: ProfitShareEvents;
  }) {
    this.#pool = deps.pool;
    this.#store = new PairStore(deps.pool);
    this.#exchange = deps.exchange;
    this.cycle = deps.cycle;
    this.#log = deps.log;
    this.#events = deps.events ?? {};
  }

  get store(): PairStore {
    return this.#store;
  }

  /** Moves what every pair owes into escrow; a pair another worker holds is left to the next sweep. */
  async sweep(): Promise<{ pairs: number; failed: number }> {
    let failed = 0;
    const pairs = await this.#store.behind();
    for (const p of pairs) {
      try {
        await withPairLock(this.#pool, p, 0, async () => this.#escrow(await this.#finishPending(p)));
      } catch (err) {
        failed++;
        this.#log.warn({ err, ...p }, 'profit share: withholding failed; the next sweep tries again');
      }
    }
    return { pairs: pairs.length, failed };
  }

  /** Settles every pair for the period that ends at `cutoffMs` (a cut-off of this.cycle). */
  settleCycle(cutoffMs: number): Promise<SettleRun> {
    return this.settlePeriod(periodEndingAt(cutoffMs, this.cycle));
  }

  /**
   * `settle --now`: settles every pair for the current period (periodOf(now)) as if it ended
   * now. The cut-off that ends this period later finds those pairs settled for it and leaves
   * them; what they withhold meanwhile is settled in the next period.
   */
  settleNow(nowMs: number): Promise<SettleRun> {
    return this.settlePeriod(periodOf(nowMs, this.cycle));
  }

  /** Settles every pair for `period`; a pair that fails is reported and the others go on. */
  async settlePeriod(period: string): Promise<SettleRun> {
    const run: SettleRun = {
      period,
      settled: 0,
      deferred: 0,
      already: 0,
      failed: [],
      payout: '0',
      refund: '0',
    };
    for (const p of await this.#store.pairs()) {
      try {
        const out = await this.#settleLocked(p, period, 'cycle');
        if (out.kind === 'busy') throw new Error(`pair busy for ${SETTLE_LOCK_WAIT_MS} ms`);
        if (out.kind === 'settled') {
          run.settled++;
          run.payout = fxStr(fx(run.payout) + fx(out.statement.payout));
          run.refund = fxStr(fx(run.refund) + fx(out.statement.refund));
        } else if (out.reason === 'open-slice') run.deferred++;
        else run.already++;
      } catch (err) {
        this.#log.error({ err, ...p, period }, 'profit share: settlement of a pair failed');
        run.failed.push({ ...p, error: (err as Error).message });
      }
    }
    return run;
  }

  /** A follow stopped at `atMs`: the pair settles at once, open slice or not, under the period of `atMs`. */
  stop(pair: PairRef, atMs: number): Promise<PairOutcome> {
    return this.#settleLocked(pair, periodOf(atMs, this.cycle), 'stop');
  }

  async #settleLocked(p: PairRef, period: string, by: 'cycle' | 'stop'): Promise<PairOutcome> {
    const out = await withPairLock(this.#pool, p, SETTLE_LOCK_WAIT_MS, async () => {
      let pair = await this.#finishPending(p);
      if (pair.state.lastSettled !== period) pair = await this.#escrow(pair);
      return this.#settle(pair, period, by);
    });
    return out === 'busy' ? { kind: 'busy' } : out;
  }

  async #settle(pair: PairRow, period: string, by: 'cycle' | 'stop'): Promise<PairOutcome> {
    const facts = await this.#store.facts(pair.copierId, pair.traderId);
    // only what moved is in escrow: a copier short of funds is withheld from later
    const result = settlePair(
      { ...pair.state, withheld: pair.escrowed },
      { period, ratio: facts.ratio, cumulativePnl: facts.cumulativePnl, open: facts.open, by },
    );
    if (result.kind === 'deferred') {
      if (result.reason === 'open-slice') {
        await this.#store.deferred(pair.copierId, pair.traderId, result.statement, result.reason);
      }
      return { kind: 'deferred', reason: result.reason, statement: result.statement };
    }
    const legs: Leg[] = [];
    const leg = (kind: 'payout' | 'refund', to: string | null, amount: string) => {
      if (fx(amount) === 0n) return;
      if (to === null) throw new Error(`copier ${pair.copierId} has no exchange account to refund to`);
      legs.push({
        key: profitShareKey(pair.copierId, pair.traderId, period, kind),
        from: PROFIT_SHARE_ESCROW,
        to,
        amount,
      });
    };
    leg('payout', pair.traderId, result.payout);
    leg('refund', facts.copierAccount, result.refund);
    const pending: Pending = { kind: 'settle', by, legs, statement: result.statement, next: result.next };
    await this.#store.setPending(pair.copierId, pair.traderId, pending);
    await this.#complete(pair, pending);
    return { kind: 'settled', statement: result.statement };
  }

  /** Sends the pending call again, if any, and records its effect: the pair as it is after it. */
  async #finishPending(p: PairRef): Promise<PairRow> {
    const pair = await this.#store.load(p.copierId, p.traderId);
    if (pair.pending === null) return pair;
    this.#log.info({ ...p, pending: pair.pending.kind }, 'profit share: finishing a funding call in flight');
    await this.#complete(pair, pair.pending);
    return this.#store.load(p.copierId, p.traderId);
  }

  async #complete(pair: PairRow, pending: Pending): Promise<void> {
    const { copierId, traderId } = pair;
    if (pending.kind === 'escrow') {
      const applied = await this.#send(pending.leg, 'refusable');
      const escrowed = applied ? fxStr(fx(pair.escrowed) + fx(pending.leg.amount)) : pair.escrowed;
      await this.#store.escrowDone(copierId, traderId, { escrowed, withheld: pending.accrued });
      if (applied) this.#emit(() => this.#events.onWithheld?.({ copierId, traderId, ...pending.leg }));
      return;
    }
    for (const leg of pending.legs) await this.#send(leg, 'must-apply');
    await this.#store.settled(copierId, traderId, pending.statement, pending.by, pending.next);
    this.#emit(() =>
      this.#events.onSettled?.({ copierId, traderId, by: pending.by, statement: pending.statement }),
    );
  }

  /** The withholding of one pair: accrued − escrowed from the copier's account into escrow. */
  async #escrow(pair: PairRow): Promise<PairRow> {
    const facts = await this.#store.facts(pair.copierId, pair.traderId);
    const owed = fx(facts.accrued) - fx(pair.escrowed);
    if (owed <= 0n || facts.copierAccount === null) return pair;
    const pending: Pending = {
      kind: 'escrow',
      // escrowed only grows, so the amount already moved names each withholding once
      leg: {
        key: `ps:${pair.copierId}:${pair.traderId}:escrow:${pair.escrowed}`,
        from: facts.copierAccount,
        to: PROFIT_SHARE_ESCROW,
        amount: fxStr(owed),
      },
      accrued: facts.accrued,
    };
    await this.#store.setPending(pair.copierId, pair.traderId, pending);
    await this.#complete(pair, pending);
    return this.#store.load(pair.copierId, pair.traderId);
  }

  /**
   * One funding call. A copier without the funds refuses a withholding (false: nothing
   * moved, try later); any other failure throws and leaves the outbox for the next attempt.
   */
  async #send(leg: Leg, mode: 'refusable' | 'must-apply'): Promise<boolean> {
    try {
      await this.#exchange.transfer(leg);
      return true;
    } catch (err) {
      if (mode === 'refusable' && err instanceof DownstreamError && err.code === 'INSUFFICIENT_FUNDS') {
        this.#log.warn(
          { key: leg.key, err: err.message },
          'profit share: the copier cannot pay the withholding yet',
        );
        return false;
      }
      throw err;
    }
  }

  #emit(call: () => unknown): void {
    try {
      Promise.resolve(call()).catch((err: unknown) =>
        this.#log.error({ err }, 'profit share: event handler failed'),
      );
    } catch (err) {
      this.#log.error({ err }, 'profit share: event handler failed');
    }
  }
}
