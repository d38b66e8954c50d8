import type { InstrumentId } from '../clients/exchange.js';
import type { BalancePoint, HistoryFill, ImportHistoryRequest } from '../clients/exchange-wire.js';
import { DAY_MS } from '../copytrade/domain/nav.js';
import { fmt, money } from '../domain/money.js';

/**
 * A past trade history for the simulator to import (POST /exchange/history), so that a
 * user's 7/30/90-day record exists without waiting: a deposit `days` ago, then one round
 * trip a day (open 1 contract, close it), each close realising `pnl(i)` USDT net, the wallet
 * following. The last balance point is the wallet the account must hold now (the simulator
 * refuses a history that does not end at the wallet).
 */
export interface PastTrading {
  account: string;
  /** days before `now` of the first deposit and trade */
  days: number;
  deposit: string;
  /** the i-th close's realised PnL, net of its fee (decimal string) */
  pnl: (i: number) => string;
  /** round trips, one a day from the first day on; at most `days` */
  closes: number;
  instrument?: InstrumentId;
}

export function pastHistory(t: PastTrading, now: number): { request: ImportHistoryRequest; wallet: string } {
  const start = now - t.days * DAY_MS;
  const instrument = t.instrument ?? 'BTC-USDT-SWAP';
  let wallet = money(t.deposit);
  const balances: BalancePoint[] = [{ atMs: start, balance: fmt(wallet), flow: t.deposit }];
  const fills: HistoryFill[] = [];
  const step = Math.floor(((t.days - 1) * DAY_MS) / Math.max(t.closes, 1));
  for (let i = 0; i < t.closes; i++) {
    const openMs = start + 60_000 + i * step;
    const pnl = money(t.pnl(i));
    const leg = { instrument, side: 'long' as const, qty: '1', fee: '0' };
    fills.push({
      ...leg,
      atMs: openMs,
      action: 'open',
      price: '50000',
      realisedPnl: '0',
      positionAfter: '1',
    });
    // a close at the price that realises `pnl` on 1 contract of 0.01 BTC
    const price = fmt(money('50000').plus(pnl.times(100)));
    fills.push({
      ...leg,
      atMs: openMs + 3_600_000,
      action: 'close',
      price,
      realisedPnl: fmt(pnl),
      positionAfter: '0',
    });
    wallet = wallet.plus(pnl);
    balances.push({ atMs: openMs + 3_600_000, balance: fmt(wallet), flow: '0' });
  }
  return { request: { account: t.account, fills, balances }, wallet: fmt(wallet) };
}
