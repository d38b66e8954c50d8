import { type CounterRow, decideCounterRow, type IntakeOrder } from '../../domain/order.js';

/** What one change message means for intake. A message either decodes or is dead-lettered. */
export type Decoded =
  | {
      kind: 'decoded';
      orders: IntakeOrder[];
      /** rows or messages that are not ours (other tables, updates, DDL, other business types) */
      ignored: string[];
      /** rows of ours that cannot become an order */
      rejected: { orderId: string | null; reason: string }[];
    }
  | { kind: 'dead'; reason: string };

/** Where the counter's sync-order table lives, and how a row is judged. */
export interface DecodeTarget {
  database: string;
  table: string;
  shards: number;
  /** larger payloads are dead-lettered unread */
  maxBytes: number;
}

export const dead = (reason: string): Decoded => ({ kind: 'dead', reason });

export const ignoredOnly = (reason: string): Decoded => ({
  kind: 'decoded',
  orders: [],
  ignored: [reason],
  rejected: [],
});

/** Inserted rows of the counter's table, judged one by one as the poller judges them. */
export function decideRows(rows: CounterRow[], shards: number): Decoded {
  const out: Decoded = { kind: 'decoded', orders: [], ignored: [], rejected: [] };
  for (const row of rows) {
    const d = decideCounterRow(row, shards);
    if (d.kind === 'order') out.orders.push(d.order);
    else if (d.kind === 'ignored') out.ignored.push(d.reason);
    else out.rejected.push({ orderId: d.orderId, reason: d.reason });
  }
  return out;
}

/** A parsed JSON object, or the reason it is not one; the size is checked before parsing. */
export function parseObject(raw: string | Buffer, maxBytes: number): Record<string, unknown> | string | null {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > maxBytes) return `payload of ${size} bytes is over the ${maxBytes}-byte limit`;
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.trim() === '') return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `not JSON: ${(err as Error).message.slice(0, 120)}`;
  }
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v))
    return `not a JSON object but ${Array.isArray(v) ? 'an array' : typeof v}`;
  return v as Record<string, unknown>;
}

/** A row whose values are strings, numbers or null; anything else is malformed. */
export function asRow(v: unknown, what: string): CounterRow | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${what} is not an object`;
  for (const [k, x] of Object.entries(v)) {
    if (x !== null && typeof x !== 'string' && typeof x !== 'number') return `${what}.${k} is ${typeof x}`;
  }
  return v as CounterRow;
}
