import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCanal } from '../../src/settlement/intake/decode/canal.js';
import { decodeDebezium } from '../../src/settlement/intake/decode/debezium.js';
import type { Decoded } from '../../src/settlement/intake/decode/decoded.js';
import { canal, malformedCanal, row } from '../support/canal-samples.js';

const target = { database: 'tradeflow_counter', table: 'sync_order', shards: 16, maxBytes: 1 << 20 };

const orders = (d: Decoded) => (d.kind === 'decoded' ? d.orders.map((o) => o.orderId) : d.reason);

describe('Canal flat messages', () => {
  it('an INSERT of several rows yields one order per swap row', () => {
    const d = decodeCanal(
      canal('INSERT', [
        row('1'),
        row('2', { flow: 'CLOSE', usdt: null }),
        row('3', { biz_type: 'SPOT_TRADE' }),
      ]),
      target,
    );
    assert.deepEqual(orders(d), ['o-1', 'o-2']);
    assert.equal(d.kind === 'decoded' && d.ignored.length, 1);
    assert.deepEqual(d.kind === 'decoded' && d.orders[0], {
      orderId: 'o-1',
      shard: 3,
      userId: 'u7',
      flow: 'open',
      asset: 'BTC',
      qty: '0.5',
      usdt: '900',
      counterCreatedMs: 1764000000000,
    });
  });

  it("Flink's documented UPDATE (with old) is ignored, as is any UPDATE or DELETE of ours", () => {
    const flinkSample = JSON.stringify({
      data: [{ id: '111', name: 'scooter', description: 'Big 2-wheel scooter', weight: '5.18' }],
      database: 'inventory',
      es: 1589373560000,
      id: 9,
      isDdl: false,
      mysqlType: { id: 'INTEGER', name: 'VARCHAR(255)', description: 'VARCHAR(512)', weight: 'FLOAT' },
      old: [{ weight: '5.15' }],
      pkNames: ['id'],
      sql: '',
      sqlType: { id: 4, name: 12, description: 12, weight: 7 },
      table: 'products',
      ts: 1589373560798,
      type: 'UPDATE',
    });
    const d = decodeCanal(flinkSample, target);
    assert.deepEqual(d.kind === 'decoded' && d.ignored, [
      'UPDATE on inventory.products, not tradeflow_counter.sync_order',
    ]);
    const upd = decodeCanal(canal('UPDATE', [row('1')], { old: [{ flow: 'CLOSE' }] }), target);
    assert.deepEqual(orders(upd), []);
    assert.match(upd.kind === 'decoded' ? (upd.ignored[0] ?? '') : '', /UPDATE of 1 row/);
    assert.deepEqual(orders(decodeCanal(canal('DELETE', [row('1')]), target)), []);
  });

  it('a DDL message (data null) is ignored', () => {
    const ddl = JSON.stringify({
      data: null,
      database: 'dip_test',
      es: 1655812326,
      id: 0,
      isDdl: true,
      mysqlType: null,
      old: null,
      pkNames: null,
      sql: 'CREATE DATABASE `dip_test` CHARSET utf8mb4 COLLATE utf8mb4_0900_ai_ci',
      sqlType: null,
      table: '',
      ts: 1655812326,
      type: 'QUERY',
    });
    assert.deepEqual(decodeCanal(ddl, target), {
      kind: 'decoded',
      orders: [],
      ignored: ['DDL QUERY on dip_test.*'],
      rejected: [],
    });
    const alter = canal('ALTER', null, { isDdl: true, sql: 'ALTER TABLE sync_order ADD x int' });
    assert.equal(decodeCanal(alter, target).kind, 'decoded');
  });

  it('a malformed row of ours is rejected with its reason, the others still decode', () => {
    const d = decodeCanal(canal('INSERT', [row('1', { asset: 'DOGE' }), row('2')]), target);
    assert.deepEqual(orders(d), ['o-2']);
    assert.deepEqual(d.kind === 'decoded' && d.rejected, [
      { orderId: 'o-1', reason: 'asset must be BTC or ETH, got "DOGE"' },
    ]);
  });
});

describe('Debezium MySQL change events', () => {
  // the create event of Debezium's MySQL connector documentation, with the schema wrapper
  const after = {
    id: 1004,
    order_id: 'o-9',
    shard: 3,
    user_id: 'u7',
    biz_type: 'OPTION_SWAP',
    flow: 'OPEN',
    asset: 'ETH',
    qty: '2',
    usdt: '180.5',
    created_ms: 1764000000000,
  };
  const source = {
    version: '2.4.0.Final',
    connector: 'mysql',
    name: 'counter',
    ts_ms: 1764000000000,
    snapshot: 'false',
    db: 'tradeflow_counter',
    table: 'sync_order',
    server_id: 223344,
    gtid: null,
    file: 'mysql-bin.000003',
    pos: 154,
    row: 0,
    thread: 7,
    query: null,
  };
  const event = (op: string, extra: Record<string, unknown> = {}) => ({
    before: null,
    after,
    source,
    op,
    ts_ms: 1764000000815,
    transaction: null,
    ...extra,
  });

  it('a create, with or without the schema/payload wrapper, is an order', () => {
    const wrapped = JSON.stringify({
      schema: { type: 'struct', name: 'counter.tradeflow_counter.sync_order.Envelope' },
      payload: event('c'),
    });
    assert.deepEqual(orders(decodeDebezium(wrapped, target)), ['o-9']);
    assert.deepEqual(orders(decodeDebezium(JSON.stringify(event('c')), target)), ['o-9']);
    assert.deepEqual(orders(decodeDebezium(JSON.stringify(event('r')), target)), ['o-9']);
  });

  it('updates, deletes, tombstones and other tables are ignored', () => {
    assert.deepEqual(orders(decodeDebezium(JSON.stringify(event('u', { before: after })), target)), []);
    assert.deepEqual(
      orders(decodeDebezium(JSON.stringify(event('d', { before: after, after: null })), target)),
      [],
    );
    assert.deepEqual(decodeDebezium(null, target), {
      kind: 'decoded',
      orders: [],
      ignored: ['tombstone'],
      rejected: [],
    });
    assert.deepEqual(decodeDebezium('', target), {
      kind: 'decoded',
      orders: [],
      ignored: ['tombstone'],
      rejected: [],
    });
    const other = JSON.stringify(event('c', { source: { ...source, table: 'customers' } }));
    assert.deepEqual(decodeDebezium(other, target), {
      kind: 'decoded',
      orders: [],
      ignored: ['op c on tradeflow_counter.customers, not tradeflow_counter.sync_order'],
      rejected: [],
    });
  });

  it('a decimal sent as base64 bytes (the connector default) is rejected as not a decimal', () => {
    const d = decodeDebezium(JSON.stringify(event('c', { after: { ...after, qty: 'AeJA' } })), target);
    assert.match(d.kind === 'decoded' ? (d.rejected[0]?.reason ?? '') : '', /qty is not a decimal/);
  });
});

describe('malformed messages go to the dead letters with a reason, and nothing throws', () => {
  const cases = malformedCanal;
  for (const [name, raw, reason] of cases) {
    it(name, () => {
      const d = decodeCanal(raw, target);
      assert.equal(d.kind, 'dead');
      assert.match(d.kind === 'dead' ? d.reason : '', reason);
    });
  }

  const debeziumCases: [string, string, RegExp][] = [
    ['payload a string', '{"payload": "x"}', /payload is not an object/],
    ['missing op', '{"before": null, "after": {}, "source": {"db": "a", "table": "b"}}', /op is missing/],
    ['unknown op', '{"op": "x", "source": {"db": "a", "table": "b"}}', /unknown op "x"/],
    ['missing source', '{"op": "c", "after": {}}', /source is missing/],
    [
      'source without table',
      '{"op": "c", "source": {"db": "tradeflow_counter"}}',
      /source.db or source.table/,
    ],
    [
      'after null on a create',
      '{"op": "c", "after": null, "source": {"db": "tradeflow_counter", "table": "sync_order"}}',
      /after is not an object/,
    ],
  ];
  for (const [name, raw, reason] of debeziumCases) {
    it(`Debezium: ${name}`, () => {
      const d = decodeDebezium(raw, target);
      assert.equal(d.kind, 'dead');
      assert.match(d.kind === 'dead' ? d.reason : '', reason);
    });
  }
});
