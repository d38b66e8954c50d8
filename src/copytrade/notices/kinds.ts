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
  /** FILLED or REJECTED */
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

/** The copier paused or resumed its follow of `traderId` (the copiers' API). */
export interface FollowPayload {
  readonly traderId: string;
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
