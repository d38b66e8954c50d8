import type { MarginKind } from './account.js';
import { idAt, type JsonObject, objectAt, oneOfAt, onlyKeys } from './fields.js';
import { SettingsError } from './settings-error.js';

/**
 * A user as tradeflow keeps it (issue 12): the exchange's account system owns users; here a
 * user is its id, the exchange account its copies trade on, and that account's margin kind.
 * The account is the main one, named as the user, or a sub account `{userId}/{name}`.
 */
export type UserAccount = { type: 'main' } | { type: 'sub'; subAccount: string };

export interface Registration {
  readonly userId: string;
  readonly account: UserAccount;
  readonly marginKind: MarginKind;
}

export const MARGIN_KINDS: readonly MarginKind[] = ['single-currency', 'multi-currency', 'portfolio'];
/** account ids are ids too (columns of 64 bytes): `{userId}/{name}` must fit */
const ACCOUNT_ID_MAX = 64;

/** The exchange account a registration names. */
export const accountIdOf = (r: Pick<Registration, 'userId' | 'account'>): string =>
  r.account.type === 'main' ? r.userId : `${r.userId}/${r.account.subAccount}`;

/** A user (or trader) id as copy trading accepts it everywhere, or a SettingsError naming `field`. */
export function parseUserId(raw: unknown, field = 'userId'): string {
  return idAt({ [field]: raw }, field, '');
}

/**
 * `{userId, account?: {type:'main'} | {type:'sub', subAccount}, marginKind?}` from untrusted
 * JSON; the account defaults to main, the margin kind to single-currency. Unknown keys are
 * refused (a misspelt `marginkind` would otherwise register the default silently).
 */
export function parseRegistration(value: unknown): Registration {
  const o = objectAt(value, '');
  onlyKeys(o, ['userId', 'account', 'marginKind'], '');
  const userId = idAt(o, 'userId', '');
  const account = o.account === undefined ? ({ type: 'main' } as const) : parseAccount(o.account);
  const marginKind =
    o.marginKind === undefined ? 'single-currency' : oneOfAt(o, 'marginKind', '', MARGIN_KINDS);
  const r = { userId, account, marginKind };
  if (accountIdOf(r).length > ACCOUNT_ID_MAX) {
    throw new SettingsError(
      'account.subAccount',
      `${userId}/{subAccount} must fit in ${ACCOUNT_ID_MAX} characters`,
    );
  }
  return r;
}

function parseAccount(value: unknown): UserAccount {
  const o: JsonObject = objectAt(value, 'account');
  const type = oneOfAt(o, 'type', 'account', ['main', 'sub'] as const);
  if (type === 'main') {
    onlyKeys(o, ['type'], 'account');
    return { type };
  }
  onlyKeys(o, ['type', 'subAccount'], 'account');
  return { type, subAccount: idAt(o, 'subAccount', 'account') };
}

/**
 * The CLI's spelling: `--account main|sub:<name>`, `--margin single|multi|portfolio` (or the
 * full names); the registration body they stand for, for parseRegistration.
 */
export function registrationBody(userId: string, account: string, margin: string): JsonObject {
  const sub = /^sub:(.*)$/s.exec(account);
  if (account !== 'main' && !sub) throw new SettingsError('--account', 'expected main or sub:<name>');
  const short: Record<string, MarginKind> = {
    single: 'single-currency',
    multi: 'multi-currency',
    portfolio: 'portfolio',
  };
  return {
    userId,
    account: sub ? { type: 'sub', subAccount: sub[1] } : { type: 'main' },
    marginKind: short[margin] ?? margin,
  };
}
