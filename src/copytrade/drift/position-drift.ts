import type { Logger } from '../../infra/log.js';
import { manualChange, type PositionDrift, positionDrifts } from '../domain/drift.js';
import { fx } from '../domain/fixed.js';
import type { FollowSettings, PositionMode } from '../domain/settings.js';
import type { Market } from '../domain/sizing.js';
import { findSlice, keptTraderId, type Slice } from '../domain/slices.js';
import type { CopierBook, CopierEntry } from '../fanout/book.js';
import type { DriftPayload } from '../notices/kinds.js';
import type { DriftExchange, DriftNotify, DriftObserver } from './drift-repair.js';
import type { DriftStore } from './drift-store.js';

const KEPT = 'kept/';

/**
 * The per-position view of drift repair (domain/drift.ts): a copier's slices against its
 * exchange positions, per account its follows use. What does not add up is handled as the
 * follow's onManualChange says (adopt, detach), or reported until it agrees again.
 */
export class PositionCheck {
  constructor(
    private readonly deps: {
      book: CopierBook;
      exchange: DriftExchange;
      store: DriftStore;
      market: (instrument: string) => Market;
      report: (copierId: string, p: DriftPayload) => Promise<void>;
      notify?: DriftNotify;
      observer?: DriftObserver;
      log: Logger;
    },
  ) {}

  /** The copier's slices against its exchange positions: what does not add up is reported until it does. */
  async compare(copierId: string): Promise<void> {
    const { store } = this.deps;
    const traders = (await store.followed([copierId])).get(copierId) ?? [];
    const still: string[] = [];
    for (const { key, drift, slices } of await this.drifts(copierId, traders)) {
      if (await this.manualChange(copierId, key, drift, slices)) continue;
      still.push(key);
      await this.deps.report(copierId, {
        kind: 'position-mismatch',
        driftKey: key,
        traderId: null,
        instrument: drift.instrument,
        side: drift.side,
        signalKey: null,
        sliceQty: drift.sliceQty,
        exchangeQty: drift.exchangeQty,
        detail: `slices ${drift.sliceQty}, exchange ${drift.exchangeQty} (${drift.side}): changed outside tradeflow or not explained by a signal`,
      });
      this.deps.observer?.repaired('position-mismatch', 'reported');
    }
    await store.resolvePositions(copierId, still);
  }

  /**
   * A position changed by hand that one trader's slice alone holds, whose follow says what
   * to do (domain/drift.ts manualChange): its slices set to the exchange, in MySQL then in
   * the book (absolute values: written again after a crash, the same). Whether it was done.
   */
  private async manualChange(
    copierId: string,
    key: string,
    drift: PositionDrift,
    slices: readonly Slice[],
  ): Promise<boolean> {
    const { book, store, observer } = this.deps;
    const copier = book.copier(copierId);
    const holding = slices.filter(
      (s) =>
        s.instrument === drift.instrument &&
        fx(s.qty) > 0n &&
        (drift.side === 'net' || s.side === drift.side),
    );
    const only = holding.length === 1 ? holding[0] : undefined;
    const policy = only && book.followOf(only.traderId, copierId)?.onManualChange;
    if (!copier || !only || !policy) return false;
    const kept = findSlice(copier.slices, keptTraderId(only.traderId), only.instrument, only.side);
    const changed = manualChange(policy, drift, slices, kept, this.deps.market(drift.instrument).price);
    if (changed === null) return false;
    await store.writeSlices(changed.map((slice) => ({ slice, shareAccrued: book.shareAccrued(slice, '0') })));
    for (const slice of changed) book.setSlice(slice);
    const kind = policy === 'adopt' ? 'position-adopted' : 'position-detached';
    observer?.repaired('position-mismatch', policy === 'adopt' ? 'adopted' : 'detached');
    await this.deps.notify?.(copierId, `drift:${copierId}:${key}:${policy}:${Date.now()}`, {
      kind,
      driftKey: key,
      traderId: only.traderId,
      instrument: drift.instrument,
      side: drift.side,
      signalKey: null,
      sliceQty: drift.sliceQty,
      exchangeQty: drift.exchangeQty,
      detail: `the position changed outside tradeflow: the slice of ${only.traderId} ${policy === 'adopt' ? 'takes' : 'leaves the trader with'} the exchange's ${drift.exchangeQty}`,
    });
    return true;
  }

  /** Per exchange account the copier's follows use: where its slices and its positions part. */
  async drifts(
    copierId: string,
    traders: readonly string[],
  ): Promise<{ key: string; drift: PositionDrift; slices: Slice[] }[]> {
    const { book, exchange } = this.deps;
    const copier = book.copier(copierId);
    if (!copier) return [];
    const accounts = new Map<string, { mode: PositionMode; traders: Set<string> }>();
    for (const traderId of traders) {
      const follow = book.followOf(traderId, copierId);
      if (!follow) continue;
      const account = accountOf(copier, follow);
      const a = accounts.get(account) ?? { mode: follow.positionMode, traders: new Set<string>() };
      a.traders.add(traderId);
      accounts.set(account, a);
    }
    const out: { key: string; drift: PositionDrift; slices: Slice[] }[] = [];
    for (const [account, { mode, traders: of }] of accounts) {
      const slices = copier.slices.filter((s) => of.has(traderOf(s)));
      const held = (await exchange.positions(account)).positions;
      for (const drift of positionDrifts(mode, slices, held)) {
        const at = account === copier.accountId ? '' : `@${account}`;
        out.push({ key: `position/${drift.instrument}/${drift.side}${at}`, drift, slices });
      }
    }
    return out;
  }
}

/** The exchange account a follow's orders go to (as the fan-out names it). */
export function accountOf(copier: CopierEntry, follow: FollowSettings): string {
  return follow.account.type === 'main'
    ? copier.accountId
    : `${copier.accountId}/${follow.account.subAccount}`;
}

/** The trader whose follow a slice belongs to (a kept slice: the trader it was kept from). */
const traderOf = (s: Slice): string =>
  s.traderId.startsWith(KEPT) ? s.traderId.slice(KEPT.length) : s.traderId;
