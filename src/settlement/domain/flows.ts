import type { Asset, Flow, IntakeOrder } from './order.js';

/**
 * The two settlement flows as data: for each step, the downstream call it makes and what
 * it hands to the next step ("carry"). Pure; the step worker executes the calls.
 *
 * Open (user paid USDT, option opened):   counter swap → USDT to funding → buy asset → asset to house
 * Close (option closed, user gets USDT):  asset to funding → sell asset → USDT to house → counter pays user
 */

export const STEPS = [1, 2, 3, 4] as const;
export type Step = (typeof STEPS)[number];
export const LAST_STEP: Step = 4;

export type HouseAccount = 'house:swap' | 'house:funding';
export type Currency = 'USDT' | Asset;

export type StepCall =
  | {
      kind: 'counterSwap';
      req: {
        key: string;
        orderId: string;
        userId: string;
        flow: Flow;
        asset: Asset;
        qty: string;
        usdt: string;
      };
    }
  | {
      kind: 'fundingTransfer';
      req: { key: string; from: HouseAccount; to: HouseAccount; currency: Currency; amount: string };
    }
  | {
      kind: 'tradeMarket';
      req: {
        key: string;
        account: HouseAccount;
        side: 'buy' | 'sell';
        asset: Asset;
        quoteAmount?: string;
        baseAmount?: string;
      };
    };

/** What a step's call answered, reduced to what the flow needs. */
export interface StepResult {
  amount?: string;
  baseQty?: string;
  quoteQty?: string;
}

type Order = Pick<IntakeOrder, 'orderId' | 'userId' | 'flow' | 'asset' | 'qty' | 'usdt'>;

/** `{orderId}:{step}`: a repeat of the key must not repeat the effect. */
export const idempotencyKey = (orderId: string, step: Step): string => `${orderId}:${step}`;

export function isStep(n: number): n is Step {
  return Number.isInteger(n) && n >= 1 && n <= LAST_STEP;
}

/**
 * The call of `step` for `order`, given what the previous step carried (null for step 1).
 * Throws when a step that spends the carry has none: that is an engine bug, not a downstream error.
 */
export function planStep(order: Order, step: Step, carry: string | null): StepCall {
  const key = idempotencyKey(order.orderId, step);
  const need = (): string => {
    if (carry === null)
      throw new Error(`step ${step} of ${order.orderId} has no carry from step ${step - 1}`);
    return carry;
  };
  const { orderId, userId, flow, asset, qty, usdt } = order;
  if (flow === 'open') {
    switch (step) {
      case 1:
        return { kind: 'counterSwap', req: { key, orderId, userId, flow, asset, qty, usdt } };
      case 2:
        return {
          kind: 'fundingTransfer',
          req: { key, from: 'house:swap', to: 'house:funding', currency: 'USDT', amount: usdt },
        };
      case 3:
        return {
          kind: 'tradeMarket',
          req: { key, account: 'house:funding', side: 'buy', asset, quoteAmount: need() },
        };
      case 4:
        return {
          kind: 'fundingTransfer',
          req: { key, from: 'house:funding', to: 'house:swap', currency: asset, amount: need() },
        };
    }
  }
  switch (step) {
    case 1:
      return {
        kind: 'fundingTransfer',
        req: { key, from: 'house:swap', to: 'house:funding', currency: asset, amount: qty },
      };
    case 2:
      return {
        kind: 'tradeMarket',
        req: { key, account: 'house:funding', side: 'sell', asset, baseAmount: need() },
      };
    case 3:
      return {
        kind: 'fundingTransfer',
        req: { key, from: 'house:funding', to: 'house:swap', currency: 'USDT', amount: need() },
      };
    case 4:
      return { kind: 'counterSwap', req: { key, orderId, userId, flow, asset, qty, usdt: need() } };
  }
}

/** What `step` hands to the next step: the amount the next call spends. */
export function carryAfter(call: StepCall, result: StepResult): string | null {
  switch (call.kind) {
    case 'counterSwap':
      return call.req.flow === 'open' ? call.req.usdt : null;
    case 'fundingTransfer':
      return call.req.amount;
    case 'tradeMarket':
      // a buy hands on the asset it received (net of fee), a sell the USDT it received
      return (call.req.side === 'buy' ? result.baseQty : result.quoteQty) ?? null;
  }
}
