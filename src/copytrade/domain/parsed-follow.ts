import { type Fx, fx, fxOfNumber } from './fixed.js';
import type { FollowSettings } from './settings.js';

/**
 * A follow's decimals for sizing (fixed.ts units), parsed once and remembered while the
 * follow object lives: the fan-out keeps the same object for every signal until the
 * settings change. Only frozen follows (what parseFollowSettings returns) are remembered,
 * so an object changed in place is never read stale.
 */

/** A follow's decimals, parsed. */
export interface ParsedFollow {
  mode: FollowSettings['sizing']['mode'];
  /** fixed-amount: the margin; fixed-ratio: the ratio */
  amount: Fx;
  ownLeverage: Fx | undefined;
  /** absent: the instrument's default (sizing) */
  maxSlippage: Fx | undefined;
  maxPositionValue: Fx;
}

const parsedFollows = new WeakMap<FollowSettings, ParsedFollow>();

export function parsedFollow(follow: FollowSettings): ParsedFollow {
  const known = parsedFollows.get(follow);
  if (known !== undefined) return known;
  const { sizing } = follow;
  const parsed: ParsedFollow = {
    mode: sizing.mode,
    amount: fx(sizing.mode === 'fixed-amount' ? sizing.margin : sizing.ratio),
    ownLeverage: follow.leverage === 'trader' ? undefined : fxOfNumber(follow.leverage),
    maxSlippage: follow.maxSlippage === undefined ? undefined : fx(follow.maxSlippage),
    maxPositionValue: fx(follow.maxPositionValue),
  };
  if (Object.isFrozen(follow) && Object.isFrozen(sizing)) parsedFollows.set(follow, parsed);
  return parsed;
}
