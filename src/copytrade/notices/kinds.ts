/**
 * What a user (a copier, or a lead: a lead is a user too) is told, by kind, with each
 * kind's payload. Amounts are decimal strings, never numbers. `copy` and `skip` are never
 * written as notices: the fan-out records them in copy_order and copy_skip on the hot path,
 * and the list (list.ts) reads them from there; every other kind is a copy_notice row
 * written by notify() (notices.ts), by whichever area decides it.
 */

/** A copy order of the copier (from copy_order). */
export interface CopyPayload {
  readonly signalKey: string;
  readonly clientOrderId: string;
  readonly traderId: string;
  readonly instrument: string;
  readonly action: string;
  readonly side: string;
  readonly qty: string;
  /** FILLED or REJECTED, or LIQUIDATED (closed by the copier's own liquidation, not ordered) */
  readonly status: string;
  readonly price: string | null;
  readonly fee: string | null;
  readonly errorCode: string | null;
}

/** A signal the copier did not follow, and why (from copy_skip). */
export interface SkipPayload {
  readonly signalKey: string;
  readonly traderId: string;
  readonly reason: string;
  readonly detail: string | null;
}

/**
 * The copier paused or resumed its follow of `traderId` (the copiers' API); or tradeflow
 * paused it: the exchange refused its copies `refusals` times in a row for `reason` (its
 * code, e.g. INSUFFICIENT_MARGIN; TF_COPY_PAUSE_AFTER_REFUSALS), or `reason` 'liquidation'.
 */
export interface FollowPayload {
  readonly traderId: string;
  /** why tradeflow paused it; absent when the copier did */
  readonly reason?: string;
  readonly refusals?: number;
}

/** The copier stopped following `traderId`: its slices kept, or being closed by `requestId`. */
export interface StopPayload {
  readonly traderId: string;
  readonly slices: 'kept' | 'closing';
  readonly requestId?: string;
}

/** To the applicant: its application to lead, as found or decided. */
export interface ApplicationPayload {
  readonly applicationId: string;
  readonly status: 'pending' | 'ineligible' | 'approved' | 'rejected';
  readonly reason?: string;
  /** the eligibility criteria it failed, by name */
  readonly failing?: readonly string[];
}

/** To a lead and to each of its copiers: the lead was suspended, or resumed. */
export interface SuspensionPayload {
  readonly traderId: string;
  readonly status: 'suspended' | 'resumed';
  readonly reason: string;
}

/**
 * To the copier and the lead: profit share moved from the copier's account into escrow, the
 * shares its closes at a profit accrued since the last move (profit-share.ts's sweep).
 */
export interface WithholdingPayload {
  readonly copierId: string;
  readonly traderId: string;
  readonly withheld: string;
  /** the funding transfer's idempotency key */
  readonly key: string;
}

/** To the copier and the lead: a pair's settlement for a period (the payout to the lead). */
export interface SettlementPayload {
  readonly copierId: string;
  readonly traderId: string;
  readonly period: string;
  readonly cumulativePnl: string;
  readonly highWaterMark: string;
  readonly payout: string;
}

/** To the copier: escrow given back at a settlement. */
export interface RefundPayload {
  readonly copierId: string;
  readonly traderId: string;
  readonly period: string;
  readonly refund: string;
}

/**
 * To the copier: one of its stops triggered (stops.ts) on the mark price; its close goes
 * through the fan-out under `stop/{requestId}/…` (its orders are listed as copies). An
 * equity stop or a daily loss limit also paused the follow (`paused`).
 */
export interface ProtectionPayload {
  readonly traderId: string;
  readonly trigger: 'take-profit' | 'stop-loss' | 'equity-stop' | 'daily-loss-limit';
  readonly requestId: string;
  /** a take profit or stop loss: the slice it closes */
  readonly instrument?: string;
  readonly side?: string;
  readonly markPrice: string;
  readonly detail: string;
  readonly paused: boolean;
}

/**
 * To the copier: the exchange liquidated its position on `account` (instrument, side): each
 * slice it held there is closed in the book at the liquidation price, its PnL in that
 * trader's profit-share pair, and its follows on that account are paused (each also told
 * by a `pause` notice). Nothing was ordered: the exchange had closed the position.
 */
export interface LiquidationPayload {
  readonly account: string;
  readonly instrument: string;
  readonly side: string;
  readonly price: string;
  readonly slices: readonly { traderId: string; side: string; qty: string; pnl: string }[];
  /** the traders whose follows were paused */
  readonly paused: readonly string[];
}

/**
 * To each copier holding a slice of the lead's position: the lead added margin to it, which
 * moved its liquidation price; the copier's own position's liquidation price next to it.
 */
export interface MarginPayload {
  readonly traderId: string;
  readonly instrument: string;
  readonly side: string;
  readonly leadMargin: string;
  readonly leadLiquidationPrice: string;
  /** the copier's position on the instrument now (null: it holds none on the exchange, or it could not be read) */
  readonly positionSide: string | null;
  readonly liquidationPrice: string | null;
}

/**
 * Drift repair could not repair a copier's copy (src/copytrade/drift/): a missed open beyond
 * its bound (`signalKey` set), or a position its slices do not add up to (`sliceQty`,
 * `exchangeQty`).
 */
export interface DriftPayload {
  readonly kind: string;
  readonly driftKey: string;
  readonly traderId: string | null;
  readonly instrument: string;
  readonly side: string;
  readonly signalKey: string | null;
  readonly sliceQty: string | null;
  readonly exchangeQty: string | null;
  readonly detail: string;
}

export interface NoticePayloads {
  copy: CopyPayload;
  skip: SkipPayload;
  pause: FollowPayload;
  resume: FollowPayload;
  stop: StopPayload;
  application: ApplicationPayload;
  suspension: SuspensionPayload;
  withholding: WithholdingPayload;
  settlement: SettlementPayload;
  refund: RefundPayload;
  protection: ProtectionPayload;
  liquidation: LiquidationPayload;
  margin: MarginPayload;
  drift: DriftPayload;
}

export type NoticeKind = keyof NoticePayloads;

export const NOTICE_KINDS: readonly NoticeKind[] = [
  'copy',
  'skip',
  'pause',
  'resume',
  'stop',
  'application',
  'suspension',
  'withholding',
  'settlement',
  'refund',
  'protection',
  'liquidation',
  'margin',
  'drift',
];

/** The kinds written as copy_notice rows (all but copies and skips, see above). */
export type WrittenKind = Exclude<NoticeKind, 'copy' | 'skip'>;

/** One notice as listed and pushed. `id` is also the list's cursor (notice-cursor.ts). */
export interface Notice<K extends NoticeKind = NoticeKind> {
  readonly id: string;
  readonly userId: string;
  readonly kind: K;
  readonly createdMs: number;
  readonly payload: NoticePayloads[K];
}
