import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Config } from '../../src/config.js';
import { money } from '../../src/domain/money.js';
import { type CounterRow, decideCounterRow } from '../../src/settlement/domain/order.js';
import { decodeCanal } from '../../src/settlement/intake/decode/canal.js';
import { decodeDebezium } from '../../src/settlement/intake/decode/debezium.js';
import type { Decoded, DecodeTarget } from '../../src/settlement/intake/decode/decoded.js';
import { decoderFor } from '../../src/settlement/intake/decode/decoder.js';
import { anyBytes, anyText, nonString, notPositiveDecimal, positiveDecimal, runs } from '../support/fuzz.js';

const target: DecodeTarget = { database: 'counter', table: 'sync_order', shards: 4, maxBytes: 4096 };

/** A result that is a value: dead with a reason, or decoded with reasons for all it did not take. */
function wellFormed(d: Decoded): void {
  if (d.kind === 'dead') {
    assert.equal(typeof d.reason, 'string');
    assert.ok(d.reason.length > 0);
    return;
  }
  assert.equal(d.kind, 'decoded');
  for (const r of d.ignored) assert.equal(typeof r, 'string');
  for (const r of d.rejected) assert.ok(typeof r.reason === 'string' && r.reason.length > 0);
}

const counterRow = fc.record({
  biz_type: fc.constant('OPTION_SWAP'),
  order_id: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
  shard: fc.oneof(fc.integer({ min: 0, max: target.shards - 1 }), fc.nat(target.shards - 1).map(String)),
  user_id: fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/),
  flow: fc.constantFrom('OPEN', 'CLOSE', 'open', 'close'),
  asset: fc.constantFrom('BTC', 'ETH'),
  qty: positiveDecimal,
  usdt: positiveDecimal,
  created_ms: fc.integer({ min: 1, max: 2 ** 50 }).map(String),
});

/** Bad values of each counter column, and the word the reason must start with. */
const badColumn: Record<string, fc.Arbitrary<unknown>> = {
  order_id: fc.oneof(
    fc.constant(null),
    fc.constant(''),
    fc.string().filter((s) => /[^A-Za-z0-9_.:-]/.test(s)),
  ),
  shard: fc.oneof(
    fc.integer({ min: target.shards, max: 1e6 }),
    fc.integer({ min: -1e6, max: -1 }),
    fc.constantFrom(null, '', ' ', 'x', '1.5', '-1', '0x1', '1e0', ' 1'),
  ),
  user_id: fc.oneof(
    fc.constant(null),
    fc.constant(''),
    fc.string().filter((s) => /[^A-Za-z0-9_.-]/.test(s)),
  ),
  flow: fc.oneof(
    fc.constant(null),
    fc.string().filter((s) => !['open', 'close'].includes(s.toLowerCase())),
  ),
  asset: fc.oneof(
    fc.constant(null),
    fc.string().filter((s) => s !== 'BTC' && s !== 'ETH'),
  ),
  qty: fc.oneof(fc.constant(null), notPositiveDecimal),
  usdt: fc.oneof(fc.constant(null), notPositiveDecimal),
  created_ms: fc.oneof(
    fc.constant(null),
    fc.constantFrom('0', '-5', '1.5', 'x', '', ' ', '9007199254740993', '0x10', '1e3', '1_000'),
  ),
};

const canalOf = (rows: unknown[], over: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 1,
    database: target.database,
    table: target.table,
    type: 'INSERT',
    isDdl: false,
    es: 1,
    data: rows,
    old: null,
    ...over,
  });

const debeziumOf = (after: unknown, wrapped: boolean, op = 'c') => {
  const event = { op, source: { db: target.database, table: target.table }, after, before: null };
  return JSON.stringify(wrapped ? { schema: {}, payload: event } : event);
};

describe('fuzz: counter rows (decideCounterRow)', () => {
  it('never throws on rows of any strings, numbers and nulls', () => {
    const cell = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.constant(null));
    const key = fc.oneof(fc.constantFrom(...Object.keys(badColumn), 'biz_type'), fc.string());
    fc.assert(
      fc.property(fc.dictionary(key, cell), (row) => {
        const d = decideCounterRow(row as CounterRow, target.shards);
        assert.ok(['order', 'ignored', 'rejected'].includes(d.kind));
        if (d.kind !== 'order') assert.ok(d.reason.length > 0);
      }),
      runs(400),
    );
  });

  it('takes a valid row and gives back its fields, amounts normalised', () => {
    fc.assert(
      fc.property(counterRow, (row) => {
        const d = decideCounterRow(row, target.shards);
        assert.equal(d.kind, 'order', JSON.stringify(d));
        if (d.kind !== 'order') return;
        const open = row.flow.toLowerCase() === 'open';
        assert.deepEqual(d.order, {
          orderId: row.order_id,
          shard: Number(row.shard),
          userId: row.user_id,
          flow: row.flow.toLowerCase(),
          asset: row.asset,
          qty: money(row.qty).toFixed(),
          usdt: open ? money(row.usdt).toFixed() : '0',
          counterCreatedMs: Number(row.created_ms),
        });
      }),
      runs(300),
    );
  });

  it('refuses a row with one bad column, naming that column', () => {
    const mutation = fc
      .constantFrom(...Object.keys(badColumn))
      .chain((col) => fc.tuple(fc.constant(col), badColumn[col] as fc.Arbitrary<unknown>));
    fc.assert(
      fc.property(counterRow, mutation, (row, [col, bad]) => {
        // usdt is read only for an open
        const base = col === 'usdt' ? { ...row, flow: 'OPEN' } : row;
        const d = decideCounterRow({ ...base, [col]: bad } as CounterRow, target.shards);
        assert.equal(d.kind, 'rejected', `${col}=${JSON.stringify(bad)}: ${JSON.stringify(d)}`);
        if (d.kind !== 'rejected') return;
        assert.ok(d.reason.startsWith(col), `${col}=${JSON.stringify(bad)}: ${d.reason}`);
      }),
      runs(500),
    );
  });

  it('ignores a row of another business type', () => {
    fc.assert(
      fc.property(
        counterRow,
        fc.string().filter((s) => s !== 'OPTION_SWAP'),
        (row, biz) => {
          assert.equal(decideCounterRow({ ...row, biz_type: biz }, target.shards).kind, 'ignored');
        },
      ),
      runs(100),
    );
  });
});

describe('fuzz: Canal decoder', () => {
  it('never throws on any text or bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          anyBytes.map((b) => Buffer.from(b)),
        ),
        (raw) => {
          wellFormed(decodeCanal(raw, target));
        },
      ),
      runs(500),
    );
  });

  it('never throws on messages of any shape', () => {
    const field = fc.oneof(fc.jsonValue(), fc.constantFrom('INSERT', 'UPDATE', 'QUERY', target.database));
    const message = fc.record(
      {
        database: fc.oneof(fc.constant(target.database), field),
        table: fc.oneof(fc.constant(target.table), field),
        type: fc.oneof(fc.constantFrom('INSERT', 'UPDATE', 'DELETE', 'CREATE', 'GTID'), field),
        isDdl: fc.oneof(fc.boolean(), field),
        data: fc.oneof(fc.array(fc.oneof(counterRow, fc.jsonValue()), { maxLength: 4 }), field),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(message, (m) => wellFormed(decodeCanal(JSON.stringify(m), target))),
      runs(500),
    );
  });

  it('gives back the orders of an INSERT of valid rows', () => {
    fc.assert(
      fc.property(fc.array(counterRow, { minLength: 1, maxLength: 5 }), (rows) => {
        const d = decodeCanal(canalOf(rows), { ...target, maxBytes: 1 << 20 });
        assert.equal(d.kind, 'decoded', JSON.stringify(d));
        if (d.kind !== 'decoded') return;
        assert.deepEqual(
          d.orders.map((o) => o.orderId),
          rows.map((r) => r.order_id),
        );
        assert.deepEqual(d.rejected, []);
      }),
      runs(200),
    );
  });

  it('dead-letters a message with one malformed envelope field, naming it', () => {
    const bad = fc.constantFrom(
      ['type', 42],
      ['type', 'UPSERT'],
      ['isDdl', 'no'],
      ['database', 7],
      ['table', null],
      ['data', {}],
      ['data', []],
    ) as fc.Arbitrary<[string, unknown]>;
    fc.assert(
      fc.property(counterRow, bad, (row, [field, value]) => {
        const d = decodeCanal(canalOf([row], { [field]: value }), target);
        assert.equal(d.kind, 'dead');
        if (d.kind === 'dead') assert.match(d.reason, new RegExp(field));
      }),
      runs(50),
    );
  });

  it('dead-letters a payload over the limit unread', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), (extra) => {
        const d = decodeCanal('x'.repeat(target.maxBytes + extra), target);
        assert.equal(d.kind, 'dead');
        if (d.kind === 'dead') assert.match(d.reason, /over the 4096-byte limit/);
      }),
      runs(20),
    );
  });
});

describe('fuzz: Debezium decoder', () => {
  it('never throws on any text, bytes or null', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          anyBytes.map((b) => Buffer.from(b)),
          fc.constant(null),
        ),
        (raw) => {
          wellFormed(decodeDebezium(raw, target));
        },
      ),
      runs(500),
    );
  });

  it('never throws on events of any shape', () => {
    const event = fc.record(
      {
        op: fc.oneof(fc.constantFrom('c', 'r', 'u', 'd', 'x'), fc.jsonValue()),
        source: fc.oneof(
          fc.record({ db: fc.oneof(fc.constant(target.database), fc.jsonValue()), table: fc.jsonValue() }),
          fc.jsonValue(),
        ),
        after: fc.oneof(counterRow, fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(event, fc.boolean(), (e, wrapped) => {
        wellFormed(decodeDebezium(JSON.stringify(wrapped ? { payload: e } : e), target));
      }),
      runs(500),
    );
  });

  it('gives back the order of a create or snapshot read, wrapped or not', () => {
    fc.assert(
      fc.property(counterRow, fc.boolean(), fc.constantFrom('c', 'r'), (row, wrapped, op) => {
        const d = decodeDebezium(debeziumOf(row, wrapped, op), target);
        assert.equal(d.kind, 'decoded', JSON.stringify(d));
        if (d.kind === 'decoded') assert.equal(d.orders[0]?.orderId, row.order_id);
      }),
      runs(200),
    );
  });

  it('gives a rejection naming the column of a row with one bad column', () => {
    fc.assert(
      fc.property(counterRow, fc.constantFrom('qty', 'asset', 'user_id', 'shard'), (row, col) => {
        const d = decodeDebezium(debeziumOf({ ...row, [col]: 'bad value!' }, true), target);
        assert.equal(d.kind, 'decoded');
        if (d.kind === 'decoded') assert.ok(d.rejected[0]?.reason.startsWith(col), JSON.stringify(d));
      }),
      runs(100),
    );
  });

  it('dead-letters an after with a non-scalar column, naming it', () => {
    fc.assert(
      fc.property(counterRow, fc.constantFrom(...Object.keys(badColumn)), nonString, (row, col, v) => {
        fc.pre(v !== null && typeof v === 'object');
        const d = decodeDebezium(debeziumOf({ ...row, [col]: v }, false), target);
        assert.equal(d.kind, 'dead');
        if (d.kind === 'dead') assert.equal(d.reason, `after.${col} is object`);
      }),
      runs(100),
    );
  });
});

describe('fuzz: decoderFor', () => {
  const config = { counterDb: target.database, shards: target.shards, cdcMaxBytes: 4096 } as Config;
  it('never throws, whichever format, on any input or null', () => {
    const canal = decoderFor('canal', config);
    const debezium = decoderFor('debezium', config);
    fc.assert(
      fc.property(fc.oneof(anyText, fc.constant(null)), (raw) => {
        wellFormed(canal(raw));
        wellFormed(debezium(raw));
      }),
      runs(300),
    );
  });
});
