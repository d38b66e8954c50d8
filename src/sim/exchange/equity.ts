import type { EquityView } from '../../clients/exchange-wire.js';
import type { ExchangeEngine } from './engine.js';
import { formatUnits as fmt, parseUnits, type Units } from './fixed.js';
import { RULES } from './instruments.js';
import { closeEffect, emptyPosition } from './positions.js';

const units = (text: string): Units => parseUnits(text) ?? 0n;

/**
 * An account's equity as the leaderboard's snapshots read it: the USDT wallet (deposits,
 * realised PnL, less fees; margin is part of it) plus each open position's unrealised PnL at
 * the feed price, valued as closing it whole there would (closeEffect, rounded down, no fee).
 * `deposited` is cumulative over the account's life, so a reader takes the change between
 * two reads as the flows between them (the simulator has no withdrawals: `withdrawn` is 0).
 */
export function equityView(engine: ExchangeEngine, account: string, nowMs: number): EquityView {
  const view = engine.positions(account);
  const wallet = units(view.balances.USDT ?? '0');
  let unrealised = 0n;
  const positions = view.positions.map((p) => {
    const rules = RULES[p.instrument];
    const mark = units(engine.priceView(p.instrument).price);
    const pos = emptyPosition(p.instrument, p.side, p.leverage, p.marginMode);
    pos.qty = units(p.qty);
    pos.avgEntry = units(p.avgEntryPrice);
    pos.margin = units(p.margin);
    const pnl = closeEffect(pos, pos.qty, mark, rules.contractSize).pnl;
    unrealised += pnl;
    return {
      instrument: p.instrument,
      side: p.side,
      qty: p.qty,
      markPrice: fmt(mark),
      unrealisedPnl: fmt(pnl),
    };
  });
  const deposited = engine.deposited(account);
  return {
    account: view.account,
    atMs: nowMs,
    wallet: fmt(wallet),
    unrealisedPnl: fmt(unrealised),
    equity: fmt(wallet + unrealised),
    deposited: fmt(deposited),
    withdrawn: '0',
    netDeposits: fmt(deposited),
    positions,
  };
}
