import type { Logger } from '../../infra/log.js';
import type { CopyOrder } from '../domain/copy-order.js';
import {
  type CopierLiquidation,
  type LiquidatedSlice,
  liquidatedSlices,
  liquidateSlice,
  liquidationAcceptKey,
  liquidationRequestKey,
  pairTraderOf,
} from '../domain/liquidation.js';
import type { FollowSettings } from '../domain/settings.js';
import { sliceId } from '../domain/slices.js';
import type { LiquidationPayload, Notice } from '../notices/kinds.js';
import { type NoticeInput, noticeIdOf } from '../notices/notices.js';
import type { CopierBook, CopierEntry } from './book.js';
import type { LiquidationRecord, LiquidationStore } from './liquidation-store.js';

/** Hands the notices written to the copier's open sockets. */
export type PushNotices = (copierId: string, notices: readonly Notice[]) => void;

/**
 * A copier's own liquidation, taken by the fan-out in turn with the traders' signals (the
 * request travels in the signal stream, codec.ts `l`): the copier's slices on the liquidated
 * position closed in the book at the liquidation price (domain/liquidation.ts), their PnL in
 * each pair's profit-share bookkeeping, its follows on that account paused, the copier told.
 * Nothing is placed on the exchange. Recorded in one transaction under the liquidation's key
 * and checked for first, so a request delivered again, or after a restart, changes nothing.
 */
export class CopierLiquidations {
  constructor(
    private readonly book: CopierBook,
    private readonly store: LiquidationStore,
    private readonly opts: { holdsRole?: () => boolean },
    private readonly log: Logger,
    /** the copier's follows changed (announced, so that other readers of them reload) */
    private readonly followsChanged: (copierId: string) => Promise<void>,
    private readonly push?: PushNotices,
  ) {}

  /** Resolves with how many slices it closed (0 for an account that is no copier's, or done before). */
  async run(l: CopierLiquidation, receivedMs: number): Promise<number> {
    const base = l.account.split('/')[0] as string;
    let orders = 0;
    for (const copierId of this.book.copierIds()) {
      const copier = this.book.copier(copierId);
      if (copier?.accountId !== base) continue;
      orders += await this.liquidated(copier, l, receivedMs);
    }
    if (orders === 0) this.log.info({ ...l }, 'liquidation of an account that holds no copier slice there');
    if (this.opts.holdsRole?.() === false) throw new Error('lost the fan-out role: left to the next holder');
    await this.store.accepted(liquidationAcceptKey(l), orders);
    return orders;
  }

  private async liquidated(copier: CopierEntry, l: CopierLiquidation, receivedMs: number): Promise<number> {
    const key = liquidationRequestKey(l, copier.copierId);
    if (await this.store.isDone(key)) return 0;
    const follows = this.followsOn(copier, l.account);
    if (follows.length === 0) return 0;
    const rules = this.book.rulesOf(l.instrument);
    if (!rules) throw new Error(`no rules for ${l.instrument}`);
    const mode = (follows[0] as FollowSettings).positionMode;
    const traders = new Set(follows.map((f) => f.traderId));
    const closes = liquidatedSlices(copier.slices, traders, l, mode).map((slice) =>
      liquidateSlice(
        l,
        slice,
        rules.contractSize,
        this.book.leadOf(pairTraderOf(slice))?.profitShareRatio ?? '0',
        copier.shares.get(sliceId(slice)) ?? '0',
      ),
    );
    const paused = follows
      .filter((f) => f.status === 'active')
      .map((f) => f.traderId)
      .sort();
    const record: LiquidationRecord = {
      key,
      copierId: copier.copierId,
      liquidation: l,
      closes,
      paused,
      notices: noticesOf(copier.copierId, key, l, closes, paused),
      receivedMs,
    };
    if (this.opts.holdsRole?.() === false) throw new Error('lost the fan-out role: left to the next holder');
    const written = await this.store.write(record);
    // the book follows what is now recorded (the same close, computed again: the slices are the same)
    for (const c of closes) {
      const follow = follows.find((f) => f.traderId === pairTraderOf(c.before)) as FollowSettings;
      try {
        this.book.fill(
          closeOrder(key, copier.copierId, follow, c),
          { qty: c.before.qty, price: l.price, fee: '0' },
          l.leverage,
        );
        this.book.shareAccrued(c.after, c.share);
      } catch (err) {
        // recorded, so never run again: the book holds the slice as it was until the next start
        this.log.error({ err, key: c.key }, 'liquidated slice not applied to the book');
      }
    }
    for (const f of follows) if (paused.includes(f.traderId)) this.book.setFollow({ ...f, status: 'paused' });
    await this.followsChanged(copier.copierId).catch((err) =>
      this.log.error({ err, copierId: copier.copierId }, 'follow change after a liquidation not announced'),
    );
    const pushed: Notice[] = [];
    record.notices.forEach((n, i) => {
      const id = written.noticeIds[i];
      if (id === null || id === undefined) return;
      const { userId, kind, payload } = n;
      pushed.push({
        id: noticeIdOf(id, written.createdMs),
        userId,
        kind,
        createdMs: written.createdMs,
        payload,
      });
    });
    if (pushed.length > 0) this.push?.(copier.copierId, pushed);
    this.log.warn(
      {
        copierId: copier.copierId,
        account: l.account,
        instrument: l.instrument,
        slices: closes.length,
        paused,
      },
      'copier liquidated: its slices there closed in the book, its follows paused',
    );
    return closes.length;
  }

  /**
   * The copier's follows of the book's leads whose orders go to `account` (any status: a
   * stopped follow's kept slices are on it too). A follow of a trader no longer leading
   * gets no more signals and is left as it is.
   */
  private followsOn(copier: CopierEntry, account: string): FollowSettings[] {
    const out: FollowSettings[] = [];
    for (const traderId of this.book.leadIds()) {
      const f = this.book.followOf(traderId, copier.copierId);
      if (!f) continue;
      const on = f.account.type === 'main' ? copier.accountId : `${copier.accountId}/${f.account.subAccount}`;
      if (on === account) out.push(f);
    }
    return out;
  }
}

/** The close the book applies: of the whole slice, under the slice's key; never sent. */
function closeOrder(key: string, copierId: string, follow: FollowSettings, c: LiquidatedSlice): CopyOrder {
  return {
    clientOrderId: `${c.key}:${copierId}`,
    signalId: key,
    copierId,
    traderId: c.before.traderId,
    instrument: c.before.instrument,
    account: follow.account,
    side: c.before.side,
    action: 'close',
    orderSide: c.before.side === 'long' ? 'sell' : 'buy',
    posSide: follow.positionMode === 'hedge' ? c.before.side : 'net',
    qty: c.before.qty,
    reduceOnly: true,
    leverage: null,
    marginMode: follow.marginMode,
    margin: '0',
  };
}

function noticesOf(
  copierId: string,
  key: string,
  l: CopierLiquidation,
  closes: readonly LiquidatedSlice[],
  paused: readonly string[],
): NoticeInput<'liquidation' | 'pause'>[] {
  const payload: LiquidationPayload = {
    account: l.account,
    instrument: l.instrument,
    side: l.side,
    price: l.price,
    slices: closes.map((c) => ({
      traderId: c.before.traderId,
      side: c.before.side,
      qty: c.before.qty,
      pnl: c.pnl,
    })),
    paused,
  };
  return [
    { userId: copierId, kind: 'liquidation', dedupKey: key, payload },
    ...paused.map((traderId) => ({
      userId: copierId,
      kind: 'pause' as const,
      dedupKey: `${key}:pause:${traderId}`,
      payload: { traderId, reason: 'liquidation' as const },
    })),
  ];
}
