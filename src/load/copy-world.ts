/**
 * A copy-trading world for the demo, the benchmark and the tests: lead traders with API
 * credentials, copiers registered as users (accounts/users.ts, as the operator does) with
 * funded exchange accounts and follows (written to MySQL, each write announced on
 * copy:changed), and a trader's signal socket that signs its frames.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { WebSocket } from 'undici';
import type { ExchangeClient } from '../clients/exchange.js';
import { encryptSecret } from '../copytrade/accounts/secrets.js';
import { registerUsers } from '../copytrade/accounts/users.js';
import { copierChanged, leadChanged, type PublishCopyChanges } from '../copytrade/copy-changes.js';
import type { FollowSettings, LeadSettings } from '../copytrade/domain/settings.js';
import { parseLeadSettings } from '../copytrade/domain/settings-parse.js';
import type { TraderSignal } from '../copytrade/domain/signal.js';
import { buildFrame } from '../copytrade/ingress/frame.js';
import type { Pool } from '../infra/mysql/client.js';

export const INSTRUMENT = 'BTC-USDT-SWAP';

/** A trader's open of 1 contract on INSTRUMENT at leverage 10, filled now; `over` sets the rest. */
export const signalOf = (traderId: string, over: Partial<TraderSignal> = {}): TraderSignal => ({
  signalId: 's',
  traderId,
  instrument: INSTRUMENT,
  action: 'open',
  side: 'long',
  qty: '1',
  price: '1',
  leverage: 10,
  positionBefore: '0',
  filledMs: Date.now(),
  ...over,
});

/** Step `step % 3` of the demo's and the chaos campaign's cycle: open 2, close 1 of 2, close the last 1. */
export const cycleSignalOf = (
  traderId: string,
  signalId: string,
  step: number,
  price: string,
): TraderSignal =>
  signalOf(traderId, {
    signalId,
    price,
    action: step === 0 ? 'open' : 'close',
    qty: step === 0 ? '2' : '1',
    positionBefore: ['0', '2', '1'][step] as string,
  });

/**
 * Whether the fan-out has recorded the signal (or close-out) `signalKey` as done: in every
 * partition it was accepted into (TF_COPY_PARTITIONS; a signal has a row per partition).
 */
export async function fannedOut(db: Pool, signalKey: string): Promise<boolean> {
  const [[row]] = await db.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n, COUNT(done_ms) AS done FROM copy_signal WHERE signal_key=?',
    [signalKey],
  );
  return Number(row?.n) > 0 && Number(row?.done) === Number(row?.n);
}

/**
 * How long the signal took from its receipt to its fan-out's end in every partition: the
 * latest partition's done_ms minus received_ms; null while a partition has not recorded it.
 */
export async function doneMs(db: Pool, signalKey: string): Promise<number | null> {
  const [[row]] = await db.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n, COUNT(done_ms) AS done, MAX(done_ms) - MIN(received_ms) AS ms FROM copy_signal WHERE signal_key=?',
    [signalKey],
  );
  if (Number(row?.n) === 0 || Number(row?.done) !== Number(row?.n)) return null;
  return Number(row?.ms);
}

/** Where copy-trading rows are written, and how their change is announced (copy-changes.ts). */
export interface CopyRows {
  db: Pool;
  publish: PublishCopyChanges;
  /** TF_SECRET_KEY: what a trader's signing secret is encrypted with */
  secretKey: Buffer;
}

/**
 * A lead trader with its API credentials and an exchange account of its own. The secret is
 * returned here once, as the account system shows it once; MySQL holds it only encrypted.
 */
export async function seedTrader(
  { db, publish, secretKey }: CopyRows,
  exchange: ExchangeClient,
  traderId: string,
  lead: Partial<LeadSettings> = {},
) {
  const apiKey = `key-${traderId}`;
  const secret = `secret-${traderId}-0123456789`;
  const settings: LeadSettings = {
    traderId,
    instruments: [INSTRUMENT],
    maxCopiers: 5000,
    profitShareRatio: '0.1',
    onLiquidation: 'close',
    signalSource: 'frames',
    ...lead,
  };
  await db.query(
    'INSERT INTO copy_trader (trader_id, api_key, secret_enc, settings, updated_ms) VALUES (?, ?, ?, ?, ?)',
    [traderId, apiKey, encryptSecret(secret, secretKey), JSON.stringify(settings), Date.now()],
  );
  await exchange.createAccount({ account: traderId, balances: { USDT: '1000000' } });
  await publish(leadChanged(traderId));
  return { traderId, apiKey, secret };
}

/** Replaces a lead's settings (maxCopiers, profit share, onLiquidation, instruments). */
export async function updateLead({ db, publish }: CopyRows, lead: LeadSettings): Promise<void> {
  // refused here, named, rather than written and left out of the book
  parseLeadSettings(lead);
  await db.query('UPDATE copy_trader SET settings=?, updated_ms=? WHERE trader_id=?', [
    JSON.stringify(lead),
    Date.now(),
    lead.traderId,
  ]);
  await publish(leadChanged(lead.traderId));
}

export const follow = (
  copierId: string,
  traderId: string,
  over: Partial<FollowSettings> = {},
): FollowSettings => ({
  copierId,
  traderId,
  account: { type: 'main' },
  sizing: { mode: 'fixed-amount', margin: '100' },
  leverage: 10,
  marginMode: 'cross',
  positionMode: 'one-way',
  instruments: [INSTRUMENT],
  maxPositionValue: '1000000',
  maxSlippage: '0.03',
  status: 'active',
  ...over,
});

/** a copier's token, predictable so that tests and the demo can name it */
const tokenOf = (copierId: string): string => `token-${copierId}`;

/**
 * Copiers registered as users (main account, single-currency), with exchange accounts funded
 * with `usdt`, following as `settings` says. Returns each copier's token, once, as
 * registration shows it once: MySQL keeps only its SHA-256.
 */
export async function seedCopiers(
  rows: CopyRows,
  exchange: ExchangeClient,
  copiers: { follow: FollowSettings; usdt: string }[],
): Promise<Map<string, string>> {
  const { db, publish } = rows;
  const now = Date.now();
  const tokens = new Map<string, string>();
  for (let i = 0; i < copiers.length; i += 500) {
    const part = copiers.slice(i, i + 500);
    const users = part.map((c) => ({
      userId: c.follow.copierId,
      account: { type: 'main' } as const,
      marginKind: 'single-currency' as const,
    }));
    // announced below, once the follows and the accounts exist
    for (const u of await registerUsers(rows, users, { tokenOf, announce: false }))
      tokens.set(u.userId, u.token);
    await db.query('INSERT INTO copy_follow (copier_id, trader_id, settings, status, updated_ms) VALUES ?', [
      part.map((c) => [c.follow.copierId, c.follow.traderId, JSON.stringify(c.follow), c.follow.status, now]),
    ]);
    await Promise.all(
      part.map((c) =>
        exchange.createAccount({
          account: c.follow.copierId,
          balances: { USDT: c.usdt },
          positionMode: c.follow.positionMode,
        }),
      ),
    );
    // once the accounts exist: a book loading the copier reads its balance
    await publish(...part.map((c) => copierChanged(c.follow.copierId)));
  }
  return tokens;
}

/** A trader's signal socket: sends signed frames, hands back the server's frames in order. */
export class TraderSocket {
  private readonly frames: Record<string, unknown>[] = [];
  private readonly waiting: ((f: Record<string, unknown>) => void)[] = [];

  private constructor(
    private readonly ws: WebSocket,
    private readonly secret: string,
  ) {
    ws.addEventListener('message', (e) => {
      const f = JSON.parse(String(e.data)) as Record<string, unknown>;
      const w = this.waiting.shift();
      if (w) w(f);
      else this.frames.push(f);
    });
  }

  static open(port: number, apiKey: string, secret: string): Promise<TraderSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/traders?apiKey=${apiKey}`);
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(new TraderSocket(ws, secret)));
      ws.addEventListener('error', () => reject(new Error('trader socket did not open')));
    });
  }

  /** Sends the signal and resolves with the server's answer. */
  send(signal: TraderSignal): Promise<Record<string, unknown>> {
    this.ws.send(buildFrame(this.secret, signal, Date.now()));
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): void {
    this.ws.close();
  }
}
