import {
  asRow,
  type Decoded,
  type DecodeTarget,
  dead,
  decideRows,
  ignoredOnly,
  parseObject,
} from './decoded.js';

const DML = new Set(['INSERT', 'UPDATE', 'DELETE']);
const DDL = new Set(['CREATE', 'ALTER', 'ERASE', 'QUERY', 'TRUNCATE', 'RENAME', 'CINDEX', 'DINDEX', 'GTID']);

/**
 * Decodes a Canal FlatMessage (Canal server in Kafka mode, flatMessage=true): `data` holds
 * the rows with every column as a string or null, `old` the changed columns of an UPDATE,
 * `id` is the batch id (not unique per row), `es` the binlog time. Only INSERTs of the
 * counter's sync-order table are orders; everything else is ignored with its reason.
 * Pure: the Kafka consumer, `tradeflow decode` and the tests call it.
 */
export function decodeCanal(raw: string | Buffer, target: DecodeTarget): Decoded {
  const m = parseObject(raw, target.maxBytes);
  if (m === null) return dead('empty message');
  if (typeof m === 'string') return dead(m);
  const { database, table, type, isDdl, data } = m;
  if (typeof type !== 'string') return dead('type is missing or not a string');
  if (!DML.has(type) && !DDL.has(type)) return dead(`unknown type ${JSON.stringify(type).slice(0, 40)}`);
  if (typeof isDdl !== 'boolean') return dead('isDdl is missing or not a boolean');
  if (typeof database !== 'string') return dead('database is missing or not a string');
  if (typeof table !== 'string') return dead('table is missing or not a string');
  if (isDdl || DDL.has(type)) return ignoredOnly(`DDL ${type} on ${database}.${table || '*'}`);
  if (!Array.isArray(data)) return dead(`data of a ${type} is not an array`);
  if (data.length === 0) return dead(`data of a ${type} is empty`);
  const rows = [];
  for (const [i, d] of data.entries()) {
    const row = asRow(d, `data[${i}]`);
    if (typeof row === 'string') return dead(row);
    rows.push(row);
  }
  if (database !== target.database || table !== target.table) {
    return ignoredOnly(`${type} on ${database}.${table}, not ${target.database}.${target.table}`);
  }
  if (type !== 'INSERT') {
    return ignoredOnly(`${type} of ${rows.length} row(s): only inserts of ${target.table} are orders`);
  }
  return decideRows(rows, target.shards);
}
