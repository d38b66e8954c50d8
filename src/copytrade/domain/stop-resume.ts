import { type Fx, fx, fxStr } from './fixed.js';
import type { FollowSettings } from './settings.js';
import { equityFloor } from './stops.js';

/** Why a follow may not copy again yet: one of its follow stops is still reached. */
export interface StopReached {
  code: 'EQUITY_STOP_REACHED' | 'DAILY_LOSS_LIMIT_REACHED';
  message: string;
}

/**
 * Whether a follow that holds no open slice of its lead would be stopped again at once if
 * it copied (resumed, or its settings replaced as active): its copy equity is its funds
 * and the pair's realised PnL alone, its loss today the day's base less that. A follow
 * with open slices is left to the watcher, which knows the marks. `realised`: Σ realised
 * of the pair's slices; `dayBase`: the pair's PnL when today began, if taken.
 */
export function stopReachedWhileFlat(
  follow: FollowSettings,
  realised: Fx,
  dayBase: Fx | undefined,
  day: string,
): StopReached | null {
  const { copyFunds, equityStopRatio, dailyLossLimit } = follow;
  if (copyFunds !== undefined && equityStopRatio !== undefined) {
    const equity = fx(copyFunds) + realised;
    const floor = equityFloor(copyFunds, equityStopRatio);
    if (equity <= floor) {
      return {
        code: 'EQUITY_STOP_REACHED',
        message: `copy equity ${fxStr(equity)} USDT is at or below the equity stop's ${fxStr(floor)}: raise copyFunds or lower equityStopRatio`,
      };
    }
  }
  if (dailyLossLimit !== undefined && dayBase !== undefined) {
    const loss = dayBase - realised;
    if (loss >= fx(dailyLossLimit)) {
      return {
        code: 'DAILY_LOSS_LIMIT_REACHED',
        message: `lost ${fxStr(loss)} USDT today (UTC ${day}), limit ${dailyLossLimit}: copies again from 00:00 UTC, or with a higher dailyLossLimit`,
      };
    }
  }
  return null;
}
