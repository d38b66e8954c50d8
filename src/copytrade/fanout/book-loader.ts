import type { RowDataPacket } from 'mysql2/promise';
import type { ExchangeClient } from '../../clients/exchange.js';
import { DownstreamError } from '../../clients/http-json.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { CopyChange } from '../copy-changes.js';
import type { MarginKind } from '../domain/account.js';
import { fx, fxStr } from '../domain/fixed.js';
import type { FollowSettings } from '../domain/settings.js';
import { parseFollowSettings } from '../domain/settings-parse.js';
import { type Slice, sliceId } from '../domain/slices.js';
import { LeadStore } from '../leads/lead-store.js';
import type { CopierBook } from './book.js';

const BALANCE_READS_IN_FLIGHT = 16;
/** copiers whose follows are parsed between two turns of the event loop */
const YIELD_EVERY = 250;

/**
 * Fills the book from MySQL (leads, copiers, follows, slices) and the exchange (instrument
 * rules, balances), all of it at start and again when asked (resubscribe, the periodic
 * reload), one lead or copier when a change is announced. Off the hot path; the fan-out
 * reads only the book. Loads run one at a time in the order asked, so a later one, reading
 * later rows, always lands last. A copier already in the book keeps its balance and slices:
 * the fan-out's fills in flight are in them, and neither MySQL nor the exchange may have
 * those yet.
 */
export class BookLoader {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly leadStore: LeadStore;

  constructor(
    private readonly pool: Pool,
    private readonly exchange: ExchangeClient,
    private readonly book: CopierBook,
    private readonly log: Logger,
    /**
     * the copiers this book holds (a fan-out partition's: domain/partition.ts); the leads are
     * always all loaded. Every copier unless given.
     */
    private readonly owns: (copierId: string) => boolean = () => true,
  ) {
    this.leadStore = new LeadStore(pool, (traderId, err) =>
      log.error({ err, traderId }, 'copy-trading row not loaded: its settings do not parse'),
    );
  }

  /** Resolves once the book holds what the change wrote. */
  apply(change: CopyChange): Promise<void> {
    switch (change.kind) {
      case 'lead':
        return this.inTurn(() => this.lead(change.traderId));
      case 'copier':
        return this.inTurn(() => this.copier(change.copierId));
      case 'all':
        return this.all();
    }
  }

  /**
   * Every lead (settings, standing, account) again, into the book's lead cache: what the
   * ingress's lead table is rebuilt from. An instrument new to the book brings its rules.
   */
  leads(): Promise<void> {
    return this.inTurn(async () => {
      const { records, unreadable } = await this.leadStore.all();
      if (records.some((r) => r.settings.instruments.some((i) => !this.book.rulesOf(i)))) {
        await this.loadRules();
      }
      this.book.leads.replaceAll(records, unreadable);
    });
  }

  /** Everything: rules, every lead, copier and follow; what is gone from MySQL leaves the book. */
  all(): Promise<void> {
    return this.inTurn(() => this.everything());
  }

  /**
   * The instruments' rules again (their per-order maximum may have changed: the exchange
   * refused an order as over it), in turn with the other loads.
   */
  rules(): Promise<void> {
    return this.inTurn(() => this.loadRules());
  }

  private inTurn(load: () => Promise<void>): Promise<void> {
    const next = this.queue.then(load);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async everything(): Promise<void> {
    await this.loadRules();
    const { records, unreadable } = await this.leadStore.all();
    // a row that no longer parses keeps what the book had of it
    this.book.leads.replaceAll(records, unreadable);

    const [all] = await this.pool.query<RowDataPacket[]>(
      'SELECT copier_id, account_id, margin_kind FROM copy_copier',
    );
    const copiers = all.filter((c) => this.owns(c.copier_id));
    const [follows] = await this.pool.query<RowDataPacket[]>(
      'SELECT copier_id, trader_id, settings, status FROM copy_follow',
    );
    const byCopier = new Map<string, RowDataPacket[]>();
    for (const f of follows) {
      const list = byCopier.get(f.copier_id) ?? [];
      list.push(f);
      byCopier.set(f.copier_id, list);
    }
    const fresh = copiers.filter((c) => !this.book.copier(c.copier_id));
    for (let i = 0; i < fresh.length; i += BALANCE_READS_IN_FLIGHT) {
      await Promise.all(fresh.slice(i, i + BALANCE_READS_IN_FLIGHT).map((row) => this.holdings(row)));
    }
    const rows = new Set<string>();
    for (const [i, c] of copiers.entries()) {
      // left out (holdings says why in the log): no follow of it can be sized
      if (!this.book.copier(c.copier_id)) continue;
      rows.add(c.copier_id);
      this.book.setFollowsOf(c.copier_id, this.follows(byCopier.get(c.copier_id) ?? []));
      // the fan-out shares this thread: a periodic reload of many copiers must not hold a signal up
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((r) => setImmediate(r));
    }
    for (const id of this.book.copierIds()) if (!rows.has(id)) this.book.removeCopier(id);
  }

  private async lead(traderId: string): Promise<void> {
    const record = await this.leadStore.one(traderId);
    if (!record) {
      this.book.removeLead(traderId);
      return;
    }
    // named in the log; the book keeps what it had
    if (record === 'unreadable') return;
    // an instrument the exchange listed after the book was loaded: its rules (the prices follow them)
    if (record.settings.instruments.some((i) => !this.book.rulesOf(i))) await this.loadRules();
    this.book.leads.set(record);
  }

  private async copier(copierId: string): Promise<void> {
    // another partition's: its holder reloads it
    if (!this.owns(copierId)) return;
    const [[row]] = await this.pool.query<RowDataPacket[]>(
      'SELECT copier_id, account_id, margin_kind FROM copy_copier WHERE copier_id=?',
      [copierId],
    );
    if (!row) {
      this.book.removeCopier(copierId);
      return;
    }
    const [follows] = await this.pool.query<RowDataPacket[]>(
      'SELECT copier_id, trader_id, settings, status FROM copy_follow WHERE copier_id=?',
      [copierId],
    );
    if (!this.book.copier(copierId) && !(await this.holdings(row))) return;
    this.book.setFollowsOf(copierId, this.follows(follows));
  }

  private async loadRules(): Promise<void> {
    for (const spec of await this.exchange.instruments()) {
      this.book.setRules({
        instrument: spec.instrument,
        contractSize: spec.contractSize,
        minQty: spec.minQty,
        qtyStep: spec.qtyStep,
        tickSize: spec.tickSize,
        // the per-order maximum in force: a larger copy goes as several orders (order-split.ts)
        maxQty: spec.maxQty,
      });
    }
  }

  private follows(rows: readonly RowDataPacket[]): FollowSettings[] {
    const out: FollowSettings[] = [];
    for (const f of rows) {
      const follow = this.parse(
        () => parseFollowSettings({ ...JSON.parse(f.settings), status: f.status }, { stored: true }),
        {
          copierId: f.copier_id,
          traderId: f.trader_id,
        },
      );
      if (follow) out.push(follow);
    }
    return out;
  }

  /** A row that does not parse is left out of the book, named in the log; the rest loads. */
  private parse<T extends FollowSettings>(read: () => T, row: Record<string, string>): T | undefined {
    try {
      return read();
    } catch (err) {
      this.log.error({ err, ...row }, 'copy-trading row not loaded: its settings do not parse');
      return undefined;
    }
  }

  /**
   * A copier new to the book: its slices from MySQL, its balance from the exchange. A copier
   * whose account the exchange does not know (closed, never opened) is left out, named in the
   * log, as a row that does not parse is: one account must not keep every other copier from
   * copying. False when left out.
   */
  private async holdings(row: RowDataPacket): Promise<boolean> {
    const copierId = row.copier_id as string;
    const [slices] = await this.pool.query<RowDataPacket[]>('SELECT * FROM copy_slice WHERE copier_id=?', [
      copierId,
    ]);
    let view: Awaited<ReturnType<ExchangeClient['positions']>>;
    try {
      view = await this.exchange.positions(row.account_id);
    } catch (err) {
      if (!(err instanceof DownstreamError) || err.code !== 'UNKNOWN_ACCOUNT') throw err;
      this.log.error(
        { copierId, accountId: row.account_id, err: err.message },
        'copier not loaded: the exchange does not know its account',
      );
      return false;
    }
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
    this.book.setCopier({
      copierId,
      accountId: row.account_id,
      marginKind: row.margin_kind as MarginKind,
      available: fx(view.available),
      slices: held,
      shares,
      leverage: leverageOf(view),
    });
    return true;
  }
}

/** The leverage per instrument: the account's settings, and what its open positions were opened at. */
function leverageOf(view: Awaited<ReturnType<ExchangeClient['positions']>>): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of view.leverage ?? []) out.set(s.instrument, s.leverage);
  for (const p of view.positions) out.set(p.instrument, p.leverage);
  return out;
}

/** DECIMAL(36,18) comes back zero-padded; the domain compares exact strings. */
const trim = (v: string): string => (v.includes('.') ? v.replace(/\.?0+$/, '') : v) || '0';
