/** Canal flat messages of the counter's table, in the shape Canal and Flink document, and malformed ones. */

export const row = (id: string, over: Record<string, string | null> = {}) => ({
  id,
  order_id: `o-${id}`,
  shard: '3',
  user_id: 'u7',
  biz_type: 'OPTION_SWAP',
  flow: 'OPEN',
  asset: 'BTC',
  qty: '0.500000000000000000',
  usdt: '900.000000000000000000',
  created_ms: '1764000000000',
  ...over,
});

/** The shape of Canal's flat message as Canal and Flink document it (batch id, es, ts, sqlType, mysqlType, pkNames). */
export const canal = (type: string, data: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    data,
    database: 'tradeflow_counter',
    es: 1764000000000,
    id: 9,
    isDdl: false,
    mysqlType: { id: 'bigint(20) unsigned', order_id: 'varchar(64)', qty: 'decimal(36,18)' },
    old: null,
    pkNames: ['id'],
    sql: '',
    sqlType: { id: -5, order_id: 12, qty: 3 },
    table: 'sync_order',
    ts: 1764000000123,
    type,
    ...extra,
  });

export const malformedCanal: [name: string, raw: string | Buffer, reason: RegExp][] = [
  ['not JSON', '{"data": [', /not JSON/],
  ['plain text', 'hello', /not JSON/],
  ['a JSON array', '[1,2,3]', /not a JSON object but an array/],
  ['a JSON string', '"INSERT"', /not a JSON object but string/],
  ['a JSON number', '42', /not a JSON object but number/],
  ['empty', '', /empty message/],
  ['JSON null', 'null', /empty message/],
  ['missing type', canal('INSERT', [row('1')], { type: undefined }), /type is missing/],
  ['type a number', canal('INSERT', [row('1')], { type: 1 }), /type is missing or not a string/],
  ['unknown type', canal('UPSERT', [row('1')]), /unknown type "UPSERT"/],
  ['isDdl a string', canal('INSERT', [row('1')], { isDdl: 'false' }), /isDdl/],
  ['missing database', canal('INSERT', [row('1')], { database: undefined }), /database is missing/],
  ['table null', canal('INSERT', [row('1')], { table: null }), /table is missing/],
  ['data null on an INSERT', canal('INSERT', null), /data of a INSERT is not an array/],
  ['data an object', canal('INSERT', row('1')), /not an array/],
  ['data empty', canal('INSERT', []), /data of a INSERT is empty/],
  ['a row that is a string', canal('INSERT', ['o-1']), /data\[0\] is not an object/],
  ['a row that is null', canal('INSERT', [null]), /data\[0\] is not an object/],
  [
    'a column that is an object',
    canal('INSERT', [{ ...row('1'), qty: { v: 1 } }]),
    /data\[0\]\.qty is object/,
  ],
  [
    'a column that is a boolean',
    canal('INSERT', [{ ...row('1'), shard: true }]),
    /data\[0\]\.shard is boolean/,
  ],
  ['10 MB payload', Buffer.alloc(10 * 1024 * 1024, 0x20), /over the 1048576-byte limit/],
  ['invalid UTF-8 bytes', Buffer.from([0xff, 0xfe, 0x7b]), /not JSON/],
];
