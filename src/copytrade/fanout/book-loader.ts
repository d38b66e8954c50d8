import type { RowDataPacket } from 'mysql2/promise';
import type { ExchangeClient } from '../../clients/exchange.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { MarginKind } from '../domain/account.js';
import { fx, fxStr } from '../domain/fixed.js';
import { parseFollowSettings, parseLeadSettings } from '../domain/settings-parse.js';
import { type Slice, sliceId } from '../domain/slices.js';
import type { CopierBook } from './book.js';

const BALANCE_READS_IN_FLIGHT = 16;

/**
 * Fills the book at start (and a copier again when its follow changes): leads, follows,
 * copiers and slices from MySQL, instrument rules and balances from the exchange. Off the
 * hot path; the fan-out reads only the book.
 */
export async function loadBook(pool: Pool, exchange: ExchangeClient, book: CopierBook): Promise<void> {
  for (const spec of await exchange.instruments()) {
    book.setRules({
      instrument: spec.instrument,
      contractSize: spec.contractSize,
      minQty: spec.minQty,
      qtyStep: spec.qtyStep,
      tickSize: spec.tickSize,
    });
  }
  const [leads] = await pool.query<RowDataPacket[]>('SELECT settings FROM copy_trader');
  for (const l of leads) book.setLead(parseLeadSettings(JSON.parse(l.settings)));
  const [copiers] = await pool.query<RowDataPacket[]>('SELECT copier_id FROM copy_copier');
  const ids = copiers.map((c) => c.copier_id as string);
  for (let i = 0; i < ids.length; i += BALANCE_READS_IN_FLIGHT) {
    await Promise.all(
      ids.slice(i, i + BALANCE_READS_IN_FLIGHT).map((id) => loadCopier(pool, exchange, book, id)),
    );
  }
}

/**
 * One copier: its row and follows, and (when new to the book) its slices and balance. A
 * copier already in the book keeps its balance and slices: the fan-out's fills in flight
 * are in them, and neither MySQL nor the exchange may have those yet.
 */
export function loadCopier(
  pool: Pool,
  exchange: ExchangeClient,
  book: CopierBook,
  copierId: string,
): Promise<void> {
  // one reload of a copier at a time, in the order asked: a later one reads later rows
  const previous = reloads.get(copierId) ?? Promise.resolve();
  const next = previous.then(() => reloadCopier(pool, exchange, book, copierId));
  const settled = next.catch(() => undefined);
  reloads.set(copierId, settled);
  void settled.then(() => {
    if (reloads.get(copierId) === settled) reloads.delete(copierId);
  });
  return next;
}

const reloads = new Map<string, Promise<void>>();

async function reloadCopier(
  pool: Pool,
  exchange: ExchangeClient,
  book: CopierBook,
  copierId: string,
): Promise<void> {
  const [[row]] = await pool.query<RowDataPacket[]>(
    'SELECT copier_id, account_id, margin_kind FROM copy_copier WHERE copier_id=?',
    [copierId],
  );
  if (!row) return;
  const [follows] = await pool.query<RowDataPacket[]>(
    'SELECT trader_id, settings, status FROM copy_follow WHERE copier_id=?',
    [copierId],
  );
  if (!book.copier(copierId)) await loadHoldings(pool, exchange, book, copierId, row);
  for (const f of follows) {
    const follow = parseFollowSettings({ ...JSON.parse(f.settings), status: f.status });
    book.setFollow(follow);
  }
}

async function loadHoldings(
  pool: Pool,
  exchange: ExchangeClient,
  book: CopierBook,
  copierId: string,
  row: RowDataPacket,
): Promise<void> {
  const [slices] = await pool.query<RowDataPacket[]>('SELECT * FROM copy_slice WHERE copier_id=?', [
    copierId,
  ]);
  const view = await exchange.positions(row.account_id);
  const shares = new Map<string, string>();
  const held: Slice[] = slices.map((s) => {
    const slice: Slice = {
      copierId,
      traderId: s.trader_id,
      instrument: s.instrument,
      side: s.side,
      qty: trim(s.qty),
      avgEntryPrice: trim(s.avg_entry_price),
      realisedPnl: trim(s.realised_pnl),
      fees: trim(s.fees),
      heldFees: trim(s.held_fees),
    };
    shares.set(sliceId(slice), fxStr(fx(trim(s.share_accrued))));
    return slice;
  });
  book.setCopier({
    copierId,
    accountId: row.account_id,
    marginKind: row.margin_kind as MarginKind,
    available: fx(view.available),
    slices: held,
    shares,
  });
}

/** DECIMAL(36,18) comes back zero-padded; the domain compares exact strings. */
const trim = (v: string): string => (v.includes('.') ? v.replace(/\.?0+$/, '') : v) || '0';
