import type { Currency } from '../clients/wire.js';
import type { LedgerPolicy } from './ledger.js';

/** The simulated world's accounts and what they hold before anything happens. */

const USER_OPENING_USDT = '1000000';

const FIXED: Record<string, Partial<Record<Currency, string>>> = {
  'house:swap': {},
  'house:options': {},
  'house:funding': {},
  /** the external counterparty of every spot trade, deep enough never to run dry in a benchmark */
  market: { USDT: '1000000000000', BTC: '1000000000', ETH: '1000000000' },
  fees: {},
};

export const FIXED_ACCOUNTS = Object.keys(FIXED);

export const userAccount = (userId: string): string => `user:${userId}`;

export const simPolicy: LedgerPolicy = {
  opening(account) {
    if (account.startsWith('user:')) return { USDT: USER_OPENING_USDT };
    return Object.hasOwn(FIXED, account) ? FIXED[account] : undefined;
  },
  // The house is short the option delta until it hedges; it nets out over time.
  mayGoNegative: (account) => account === 'house:swap' || account === 'house:options',
};
