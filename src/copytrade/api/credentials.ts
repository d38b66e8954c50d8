import { createHash } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import { decryptSecret, hashToken } from '../accounts/secrets.js';

/** What a trader's API key stands for; the secret checks the signature of its frames. */
export interface TraderCredentials {
  readonly traderId: string;
  readonly secret: string;
}

/**
 * Every credential, as read from MySQL: the SHA-256 of copiers' tokens (hex; the tokens are
 * kept nowhere), and traders' API keys with their secrets decrypted.
 */
export interface CredentialRows {
  readonly copiers: readonly { readonly tokenHash: string; readonly copierId: string }[];
  readonly traders: readonly {
    readonly apiKey: string;
    readonly traderId: string;
    readonly secret: string;
  }[];
}

export interface CredentialCacheOptions {
  /** a lookup that misses reloads at most once per this many ms, whoever asks */
  readonly missReloadMs: number;
  readonly now?: () => number;
}

/** a lookup that waits on a reload waits at most this long (a stalled MySQL fails it, then 401) */
const LOAD_TIMEOUT_MS = 5000;

export interface LoadCredentialsOptions {
  /** TF_SECRET_KEY: what the traders' secrets are encrypted with */
  readonly secretKey: Buffer;
  /** a trader whose secret does not open is left out (it cannot sign), not the whole reload */
  readonly onUnreadableSecret: (traderId: string, err: Error) => void;
}

/**
 * Reads every credential on `pool` (two queries, off the hot path). Rows without a hash or
 * an encrypted secret (registered before they existed, migration 0013) authenticate nothing.
 */
export async function loadCredentials(pool: Pool, opts: LoadCredentialsOptions): Promise<CredentialRows> {
  const [copiers] = await pool.query<RowDataPacket[]>({
    sql: 'SELECT copier_id, HEX(token_hash) AS token_hash FROM copy_copier WHERE token_hash IS NOT NULL',
    timeout: LOAD_TIMEOUT_MS,
  });
  const [traders] = await pool.query<RowDataPacket[]>({
    sql: 'SELECT trader_id, api_key, HEX(secret_enc) AS secret_enc FROM copy_trader WHERE secret_enc IS NOT NULL',
    timeout: LOAD_TIMEOUT_MS,
  });
  const opened: { apiKey: string; traderId: string; secret: string }[] = [];
  for (const r of traders) {
    try {
      const secret = decryptSecret(Buffer.from(r.secret_enc, 'hex'), opts.secretKey);
      opened.push({ apiKey: r.api_key, traderId: r.trader_id, secret });
    } catch (err) {
      opts.onUnreadableSecret(r.trader_id, err as Error);
    }
  }
  return {
    copiers: copiers.map((r) => ({ tokenHash: String(r.token_hash).toLowerCase(), copierId: r.copier_id })),
    traders: opened,
  };
}

const digest = (credential: string): string => createHash('sha256').update(credential).digest('base64');
const tokenKey = (token: string): string => hashToken(token).toString('hex');

/**
 * Copiers' tokens and traders' API keys in memory, keyed by their SHA-256, so that checking
 * one costs no MySQL query and the tokens themselves are not kept (MySQL holds only their
 * hash too). The traders' secrets are held decrypted: the ingress checks signatures with them. Loaded whole at start and
 * again on `reload()` (on a change message, and every refresh interval so a missed message
 * heals). A lookup that misses may reload, but at most once per `missReloadMs` in all: a
 * credential created without a change message gets in within that time, and a flood of
 * wrong ones costs MySQL at most one reload per period, never a query per request.
 */
export class CredentialCache {
  #copiers = new Map<string, string>();
  #traders = new Map<string, TraderCredentials>();
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;
  #lastStartedMs = Number.NEGATIVE_INFINITY;
  readonly #now: () => number;

  constructor(
    private readonly load: () => Promise<CredentialRows>,
    private readonly opts: CredentialCacheOptions,
  ) {
    this.#now = opts.now ?? Date.now;
  }

  /** The copier a bearer token belongs to; a promise only when the lookup missed and reloads. */
  copierOf(token: string): string | undefined | Promise<string | undefined> {
    const key = tokenKey(token);
    return this.#copiers.get(key) ?? this.#afterMiss(() => this.#copiers.get(key));
  }

  /** What an API key stands for; a promise only when the lookup missed and reloads. */
  traderOf(apiKey: string): TraderCredentials | undefined | Promise<TraderCredentials | undefined> {
    const key = digest(apiKey);
    return this.#traders.get(key) ?? this.#afterMiss(() => this.#traders.get(key));
  }

  /**
   * Reads every credential again. Calls during a reload share one more that starts after
   * it, so any number of change messages costs at most two reloads, each seeing them all.
   * A failed reload keeps the tables as they were, and rejects.
   */
  reload(): Promise<void> {
    if (this.#next) return this.#next;
    const running = this.#running;
    if (!running) return this.#run();
    const next = running
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined;
        return this.#run();
      });
    this.#next = next;
    return next;
  }

  #run(): Promise<void> {
    this.#lastStartedMs = this.#now();
    const run = this.load().then((rows) => {
      this.#copiers = new Map(rows.copiers.map((c) => [c.tokenHash, c.copierId]));
      this.#traders = new Map(
        rows.traders.map((t) => [digest(t.apiKey), { traderId: t.traderId, secret: t.secret }]),
      );
    });
    this.#running = run;
    const clear = () => {
      if (this.#running === run) this.#running = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  #afterMiss<T>(lookup: () => T | undefined): undefined | Promise<T | undefined> {
    if (this.#now() - this.#lastStartedMs < this.opts.missReloadMs) return undefined;
    // a reload already in flight is as good as a new one, and costs nothing more
    const reloaded = this.#running ?? this.reload();
    return reloaded.then(
      () => lookup(),
      () => undefined,
    );
  }
}
