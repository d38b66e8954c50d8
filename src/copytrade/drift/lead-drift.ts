import type { Logger } from '../../infra/log.js';
import type { Turns } from '../../infra/turns.js';
import { flatKey, lastSignalBySide, leadFlatClose, leadHolds } from '../domain/drift.js';
import { fx } from '../domain/fixed.js';
import type { FollowSettings } from '../domain/settings.js';
import { findSlice } from '../domain/slices.js';
import type { CopierBook, CopierEntry } from '../fanout/book.js';
import type { Fanout } from '../fanout/fanout.js';
import type { LeadRecord } from '../leads/lead-store.js';
import type { DriftExchange, DriftObserver } from './drift-repair.js';
import type { DriftStore } from './drift-store.js';

/** How long a lead must be seen flat on a side, with no signal of it since, before its copiers' slices there are closed. */
export const LEAD_FLAT_GRACE_MS = 3000;

/**
 * The lead-side comparison (domain/drift.ts, "Per lead"): for each lead whose signals are its
 * own fills, the sides it no longer holds on its exchange account, against its copiers'
 * slices there. A side seen flat is remembered with the lead's last signal on it; only once
 * it has stayed so for LEAD_FLAT_GRACE_MS with no newer signal (the close's own fill event
 * would have arrived and been fanned out by then) are the slices closed, in the fan-out's
 * turn, each after asking the exchange for the close's client order id.
 */
export class LeadDrift {
  constructor(
    private readonly deps: {
      book: CopierBook;
      fanout: Fanout;
      exchange: DriftExchange;
      store: DriftStore;
      turns: Turns;
      lookbackMs: number;
      graceMs?: number;
      observer?: DriftObserver;
      log: Logger;
    },
  ) {}

  /** `{traderId}|{instrument}|{side}` → since when it is seen flat, after which last signal */
  private readonly flat = new Map<string, { sinceMs: number; lastKey: string }>();
  /** what is left after a close under its key, told once to the log (not closed again) */
  private readonly warned = new Set<string>();

  async sweep(): Promise<void> {
    const { book, turns, log } = this.deps;
    for (const traderId of book.leadIds()) {
      const lead = book.leadRecord(traderId);
      if (lead === undefined || lead.settings.signalSource !== 'fills') continue;
      try {
        if (await this.look(lead, false)) await turns.run(() => this.look(lead, true));
      } catch (err) {
        log.error({ err, traderId }, 'drift: lead-side comparison failed; tried again next sweep');
      }
    }
  }

  /** Whether copiers hold slices of a side the lead has been flat on long enough; `act`: closes them. */
  private async look(lead: LeadRecord, act: boolean): Promise<boolean> {
    const { book, exchange, store, fanout, observer, log } = this.deps;
    const traderId = lead.settings.traderId;
    const holders: {
      follow: FollowSettings;
      copier: CopierEntry;
      instrument: string;
      side: 'long' | 'short';
    }[] = [];
    // a stopped follow's slices are the copier's own now (stopped with slices=keep): not the lead's to close
    for (const follow of book.followsOf(traderId)) {
      const copier = book.copier(follow.copierId);
      if (!copier) continue;
      for (const s of copier.slices) {
        if (s.traderId === traderId && fx(s.qty) > 0n)
          holders.push({ follow, copier, instrument: s.instrument, side: s.side });
      }
    }
    if (holders.length === 0) return false;
    const recent = await store.recentSignals(traderId, Date.now() - this.deps.lookbackMs);
    // a signal of the lead in flight: its fan-out decides, not this
    if (recent.some((r) => r.doneMs === null)) return false;
    const last = lastSignalBySide(recent);
    const held = (await exchange.positions(lead.account)).positions;
    const now = Date.now();
    const grace = this.deps.graceMs ?? LEAD_FLAT_GRACE_MS;
    let due = false;
    for (const h of holders) {
      const side = `${h.instrument}|${h.side}`;
      const seen = `${traderId}|${side}`;
      const lastKey = last.get(side);
      if (leadHolds(held, h.instrument, h.side) || lastKey === undefined) {
        this.flat.delete(seen);
        continue;
      }
      const since = this.flat.get(seen);
      if (since === undefined || since.lastKey !== lastKey) {
        this.flat.set(seen, { sinceMs: now, lastKey });
        continue;
      }
      if (now - since.sinceMs < grace) continue;
      due = true;
      if (!act) continue;
      // read again in the turn: the fan-out may have moved it since the first look
      const copier = book.copier(h.copier.copierId);
      const slice = copier && findSlice(copier.slices, traderId, h.instrument, h.side);
      if (!copier || !slice || fx(slice.qty) <= 0n) continue;
      const key = flatKey(lastKey);
      if (await store.hasRecord(copier.copierId, key)) {
        // closed once under this key and something is left (a partial fill): not closed again
        const once = `${copier.copierId}|${key}`;
        if (!this.warned.has(once))
          log.warn({ key, copierId: copier.copierId }, 'drift: slice of a flat lead left after its close');
        this.warned.add(once);
        continue;
      }
      const order = leadFlatClose(lastKey, h.follow, slice, copier.slices);
      const account =
        h.follow.account.type === 'main'
          ? copier.accountId
          : `${copier.accountId}/${h.follow.account.subAccount}`;
      const [placed] = await exchange.lookupOrders([{ account, clientOrderId: order.clientOrderId }]);
      const known = new Map(placed ? [[order.clientOrderId, placed]] : []);
      await fanout.recordRepair(key, [order], [], known, lead.settings.profitShareRatio, null);
      observer?.repaired('lead-flat', placed ? 'recorded' : 'placed');
    }
    return due;
  }
}
