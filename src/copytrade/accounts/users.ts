import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { HttpError } from '../../infra/http.js';
import type { Pool } from '../../infra/mysql/client.js';
import { copierChanged, leadChanged, type PublishCopyChanges } from '../copy-changes.js';
import { SettingsError } from '../domain/settings-error.js';
import { accountIdOf, parseRegistration, parseUserId, type Registration } from '../domain/user.js';
import { newApiKey, newCopierToken, newSigningSecret } from './issue.js';
import { encryptSecret, hashToken } from './secrets.js';

/**
 * Users and their credentials (issue 12, part 1), for the operator API and CLI, the demo and
 * the tests: registering a user writes its `copy_copier` row (its token only as a SHA-256),
 * rotating replaces a credential. Every write is announced on copy:changed, on which the
 * running engine reloads its credentials: an old token or key stops working as soon as the
 * engine has read the message (a new /stream or trader socket; sockets already open stay
 * bound to what they opened with, see the README). Bad input is an HttpError with a code,
 * which the CLI turns into exit 2.
 */
export interface UserStore {
  readonly db: Pool;
  readonly publish: PublishCopyChanges;
  /** TF_SECRET_KEY: what leads' signing secrets are encrypted with */
  readonly secretKey: Buffer;
}

export interface RegisteredUser {
  readonly userId: string;
  readonly accountId: string;
  readonly marginKind: string;
  /** shown once: MySQL keeps its SHA-256 only */
  readonly token: string;
}

/** rows per INSERT when many users are registered at once (the demo and the benchmark) */
const BATCH = 500;

/** `body` as a registration, or a 422 naming the field at fault. */
export function registrationOf(body: unknown): Registration {
  try {
    return parseRegistration(body);
  } catch (err) {
    if (err instanceof SettingsError) throw new HttpError(422, 'INVALID_REQUEST', err.message);
    throw err;
  }
}

/** An id from a path or the command line, or a 400. */
export function idOf(raw: string, field: string): string {
  try {
    return parseUserId(raw, field);
  } catch (err) {
    if (err instanceof SettingsError) throw new HttpError(400, 'INVALID_ID', err.message);
    throw err;
  }
}

/** Registers one user; 409 USER_EXISTS when the id is taken. */
export async function registerUser(store: UserStore, body: unknown): Promise<RegisteredUser> {
  const [user] = await registerUsers(store, [registrationOf(body)]);
  return user as RegisteredUser;
}

/**
 * Registers users (already parsed), `BATCH` rows per INSERT; each gets a fresh random token
 * unless `tokenOf` names one (the demo and the tests, which need tokens they can predict;
 * never offered over the API or the CLI). `announce: false` leaves the copy:changed
 * messages to the caller (a seeder that writes the follows next announces once, after).
 */
export async function registerUsers(
  store: UserStore,
  users: readonly Registration[],
  opts: { tokenOf?: (userId: string) => string; announce?: boolean } = {},
): Promise<RegisteredUser[]> {
  const now = Date.now();
  const out = users.map((u) => ({
    userId: u.userId,
    accountId: accountIdOf(u),
    marginKind: u.marginKind,
    token: opts.tokenOf?.(u.userId) ?? newCopierToken(),
  }));
  const seen = new Set<string>();
  for (const u of out) {
    if (seen.has(u.userId)) throw new HttpError(409, 'USER_EXISTS', `${u.userId} is registered twice`);
    seen.add(u.userId);
  }
  for (let i = 0; i < out.length; i += BATCH) {
    const part = out.slice(i, i + BATCH);
    try {
      await store.db.query(
        'INSERT INTO copy_copier (copier_id, token_hash, account_id, margin_kind, updated_ms) VALUES ?',
        [part.map((u) => [u.userId, hashToken(u.token), u.accountId, u.marginKind, now])],
      );
    } catch (err) {
      if ((err as { code?: string }).code !== 'ER_DUP_ENTRY') throw err;
      const [taken] = await store.db.query<RowDataPacket[]>(
        'SELECT copier_id FROM copy_copier WHERE copier_id IN (?)',
        [part.map((u) => u.userId)],
      );
      const ids = taken.map((r) => r.copier_id).join(', ');
      throw new HttpError(409, 'USER_EXISTS', `already registered: ${ids || '(a token already in use)'}`);
    }
    if (opts.announce !== false) await store.publish(...part.map((u) => copierChanged(u.userId)));
  }
  return out;
}

/** A new token for `userId`; the old one is refused once the engine has read the change. 404 for an unknown user. */
export async function rotateCopierToken(
  store: UserStore,
  userId: string,
): Promise<{ userId: string; token: string }> {
  const id = idOf(userId, 'userId');
  const token = newCopierToken();
  const [res] = await store.db.query<ResultSetHeader>(
    'UPDATE copy_copier SET token_hash=?, updated_ms=? WHERE copier_id=?',
    [hashToken(token), Date.now(), id],
  );
  if (res.affectedRows === 0) throw new HttpError(404, 'NO_SUCH_USER', `${id} is not registered`);
  await store.publish(copierChanged(id));
  return { userId: id, token };
}

export interface RotatedLeadCredentials {
  readonly traderId: string;
  readonly apiKey: string;
  /** the new signing secret, shown once (absent when only the key was rotated) */
  readonly secret?: string;
}

/**
 * A new API key and/or signing secret for a lead (both by default); the secret is stored
 * encrypted under TF_SECRET_KEY. 404 for a user that does not lead.
 */
export async function rotateLeadCredentials(
  store: UserStore,
  traderId: string,
  what: { apiKey?: boolean; secret?: boolean } = {},
): Promise<RotatedLeadCredentials> {
  const id = idOf(traderId, 'traderId');
  const rotateKey = what.apiKey ?? true;
  const rotateSecret = what.secret ?? true;
  if (!rotateKey && !rotateSecret) {
    throw new HttpError(422, 'INVALID_REQUEST', 'nothing to rotate: apiKey and secret are both false');
  }
  const apiKey = rotateKey ? newApiKey() : undefined;
  const secret = rotateSecret ? newSigningSecret() : undefined;
  const sets = [
    ...(apiKey ? [['api_key', apiKey] as const] : []),
    ...(secret ? [['secret_enc', encryptSecret(secret, store.secretKey)] as const] : []),
  ];
  const [res] = await store.db.query<ResultSetHeader>(
    `UPDATE copy_trader SET ${sets.map(([c]) => `${c}=?`).join(', ')}, updated_ms=? WHERE trader_id=?`,
    [...sets.map(([, v]) => v), Date.now(), id],
  );
  if (res.affectedRows === 0) throw new HttpError(404, 'NO_SUCH_LEAD', `${id} does not lead`);
  await store.publish(leadChanged(id));
  const kept = async () => {
    const [[row]] = await store.db.query<RowDataPacket[]>(
      'SELECT api_key FROM copy_trader WHERE trader_id=?',
      [id],
    );
    return String(row?.api_key);
  };
  return { traderId: id, apiKey: apiKey ?? (await kept()), ...(secret ? { secret } : {}) };
}

export interface UserView {
  readonly userId: string;
  readonly accountId: string;
  readonly marginKind: string;
  /** false for a row registered while tokens were plaintext: it authenticates nothing until rotated */
  readonly hasToken: boolean;
  readonly updatedMs: number;
  /** its lead credentials' public part, if it leads */
  readonly lead: { readonly apiKey: string; readonly hasSecret: boolean } | null;
}

/** What tradeflow keeps of a user, without its credentials; 404 for an unknown one. */
export async function showUser(store: UserStore, userId: string): Promise<UserView> {
  const id = idOf(userId, 'userId');
  const [[row]] = await store.db.query<RowDataPacket[]>(
    `SELECT c.copier_id, c.account_id, c.margin_kind, c.token_hash IS NOT NULL AS has_token, c.updated_ms,
            t.api_key, t.secret_enc IS NOT NULL AS has_secret
       FROM copy_copier c LEFT JOIN copy_trader t ON t.trader_id = c.copier_id
      WHERE c.copier_id=?`,
    [id],
  );
  if (!row) throw new HttpError(404, 'NO_SUCH_USER', `${id} is not registered`);
  return {
    userId: row.copier_id,
    accountId: row.account_id,
    marginKind: row.margin_kind,
    hasToken: Boolean(row.has_token),
    updatedMs: Number(row.updated_ms),
    lead: row.api_key == null ? null : { apiKey: row.api_key, hasSecret: Boolean(row.has_secret) },
  };
}
