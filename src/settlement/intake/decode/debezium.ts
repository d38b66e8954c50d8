import {
  asRow,
  type Decoded,
  type DecodeTarget,
  dead,
  decideRows,
  ignoredOnly,
  parseObject,
} from './decoded.js';

const OPS = new Set(['c', 'r', 'u', 'd', 't', 'm']);

/**
 * Decodes a Debezium MySQL change event, with or without the `schema`/`payload` wrapper
 * (converter schemas on or off). A null or empty value is a tombstone (ignored). Creates
 * (`c`) and snapshot reads (`r`) of the counter's table are orders. Decimal columns must
 * arrive as strings (connector setting decimal.handling.mode=string); the default base64
 * bytes are rejected as not a decimal.
 */
export function decodeDebezium(raw: string | Buffer | null, target: DecodeTarget): Decoded {
  if (raw === null) return ignoredOnly('tombstone');
  const outer = parseObject(raw, target.maxBytes);
  if (outer === null) return ignoredOnly('tombstone');
  if (typeof outer === 'string') return dead(outer);
  const event = 'payload' in outer ? outer.payload : outer;
  if (event === null) return ignoredOnly('tombstone');
  if (typeof event !== 'object' || Array.isArray(event)) return dead('payload is not an object');
  const { op, source, after } = event as Record<string, unknown>;
  if (typeof op !== 'string') return dead('op is missing or not a string');
  if (!OPS.has(op)) return dead(`unknown op ${JSON.stringify(op).slice(0, 40)}`);
  if (typeof source !== 'object' || source === null) return dead('source is missing');
  const { db, table } = source as Record<string, unknown>;
  if (typeof db !== 'string' || typeof table !== 'string')
    return dead('source.db or source.table is missing');
  if (db !== target.database || table !== target.table) {
    return ignoredOnly(`op ${op} on ${db}.${table}, not ${target.database}.${target.table}`);
  }
  if (op !== 'c' && op !== 'r') return ignoredOnly(`op ${op}: only creates of ${target.table} are orders`);
  const row = asRow(after, 'after');
  if (typeof row === 'string') return dead(row);
  return decideRows([row], target.shards);
}
