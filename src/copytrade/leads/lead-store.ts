import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import type { LeadVisibility } from '../domain/lead-application.js';
import type { LeadSettings } from '../domain/settings.js';
import { parseLeadSettings } from '../domain/settings-parse.js';
import type { Leader } from '../ingress/fill-filter.js';

/**
 * The leads as the copy engine reads them: each `copy_trader` row's settings with its
 * standing (`copy_lead_status`: approved or suspended, level, visibility, minimum copy
 * amount) and the exchange account it trades from. One store reads them from MySQL, one
 * LeadCache holds them for both the fan-out's book and the ingress's lead table.
 */

export type LeadStatus = 'approved' | 'suspended';

export interface LeadStanding {
  /** approved or suspended; anything else a row may say is not approved */
  status: string;
  level: number;
  visibility: LeadVisibility;
  /** USDT, canonical decimal string */
  minCopyAmount: string;
}

/** A lead without a standing row (registered before applications existed): approved, level 1, public. */
export const LEGACY_STANDING: Readonly<LeadStanding> = Object.freeze({
  status: 'approved',
  level: 1,
  visibility: 'public',
  minCopyAmount: '0',
});

export interface LeadRecord {
  settings: LeadSettings;
  standing: LeadStanding;
  /** the exchange account the lead trades from: its user's (copy_copier.account_id), else its own id */
  account: string;
}

export const isApproved = (standing: LeadStanding): boolean => standing.status === 'approved';

const SELECT = `SELECT t.trader_id, t.settings, s.status, s.level, s.visibility, s.min_copy_amount, c.account_id
  FROM copy_trader t
  LEFT JOIN copy_lead_status s ON s.trader_id = t.trader_id
  LEFT JOIN copy_copier c ON c.copier_id = t.trader_id`;

/** DECIMAL(36,18) comes back zero-padded. */
const trim = (v: string): string => (v.includes('.') ? v.replace(/\.?0+$/, '') : v) || '0';

function standingOf(r: RowDataPacket): LeadStanding {
  if (r.status === null || r.status === undefined) return LEGACY_STANDING;
  return {
    status: String(r.status),
    level: Number(r.level),
    visibility: r.visibility === 'private' ? 'private' : 'public',
    minCopyAmount: trim(String(r.min_copy_amount)),
  };
}

export class LeadStore {
  constructor(
    private readonly pool: Pool,
    /** a row whose settings do not parse is left out, named here; the rest loads */
    private readonly onUnreadable: (traderId: string, err: unknown) => void,
  ) {}

  /** Every lead; `unreadable`: rows whose settings do not parse (a cache keeps what it had of them). */
  async all(): Promise<{ records: LeadRecord[]; unreadable: string[] }> {
    const [rows] = await this.pool.query<RowDataPacket[]>(SELECT);
    const records: LeadRecord[] = [];
    const unreadable: string[] = [];
    for (const r of rows) {
      const record = this.record(r);
      if (record) records.push(record);
      else unreadable.push(r.trader_id);
    }
    return { records, unreadable };
  }

  /** The lead; null when it has no row, 'unreadable' when its settings do not parse. */
  async one(traderId: string): Promise<LeadRecord | null | 'unreadable'> {
    const [[row]] = await this.pool.query<RowDataPacket[]>(`${SELECT} WHERE t.trader_id=?`, [traderId]);
    if (!row) return null;
    return this.record(row) ?? 'unreadable';
  }

  private record(r: RowDataPacket): LeadRecord | null {
    try {
      const settings = parseLeadSettings(JSON.parse(r.settings));
      return { settings, standing: standingOf(r), account: r.account_id ?? settings.traderId };
    } catch (err) {
      this.onUnreadable(r.trader_id, err);
      return null;
    }
  }
}

/**
 * The one in-memory table of leads: the book sizes signals from it, the ingress builds its
 * lead table (which trader leads what, from which account) from it. Filled by the
 * BookLoader, whole or one lead at a time; read without I/O.
 */
export class LeadCache {
  readonly #leads = new Map<string, LeadRecord>();

  get(traderId: string): LeadRecord | undefined {
    return this.#leads.get(traderId);
  }

  set(record: LeadRecord): void {
    this.#leads.set(record.settings.traderId, record);
  }

  remove(traderId: string): void {
    this.#leads.delete(traderId);
  }

  /** Every lead as `records` says, those not among them (nor `kept`) gone. */
  replaceAll(records: readonly LeadRecord[], kept: readonly string[] = []): void {
    const present = new Set([...records.map((r) => r.settings.traderId), ...kept]);
    for (const id of this.#leads.keys()) if (!present.has(id)) this.#leads.delete(id);
    for (const r of records) this.set(r);
  }

  ids(): string[] {
    return [...this.#leads.keys()];
  }

  get size(): number {
    return this.#leads.size;
  }

  /** The ingress's view: which trader leads what, from which account, from which source. */
  leaders(): Leader[] {
    return [...this.#leads.values()].map((r) => ({ ...r.settings, account: r.account }));
  }
}
