import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import type { CopyOrder } from '../../src/copytrade/domain/copy-order.js';
import { type BatchRecord, batchSql } from '../../src/copytrade/fanout/copy-store.js';

const order: CopyOrder = {
  clientOrderId: 'h:AbC-_9',
  signalId: 's1@lead',
  copierId: 'c.1',
  traderId: 'kept/lead',
  instrument: 'BTC-USDT-SWAP',
  account: { type: 'main' },
  action: 'close',
  side: 'long',
  orderSide: 'sell',
  posSide: 'net',
  qty: '1.5',
  reduceOnly: true,
  leverage: null,
  marginMode: 'cross',
  margin: '0',
};

describe('the batch SQL of a fan-out', () => {
  it('quotes plain values as they are and escapes anything else', () => {
    const detail = "needs 1'2 \\ USDT; DROP TABLE copy_order; --";
    const b: BatchRecord = {
      signalKey: 's1@lead',
      orders: [{ order, status: 'FILLED', fillQty: '1.5', fillPrice: '65000.1', fee: '-0.01' }],
      skips: [
        {
          signalId: 's1@lead',
          copierId: 'c2',
          traderId: 'lead',
          instrument: 'BTC-USDT-SWAP',
          reason: 'no-slice',
          detail,
        },
      ],
      slices: [],
    };
    const sql = batchSql(b, 1764000000000);
    assert.ok(
      sql.includes(
        "('h:AbC-_9','s1@lead','c.1','kept/lead','BTC-USDT-SWAP','close','long','1.5','FILLED','65000.1','-0.01',NULL,1764000000000)",
      ),
      sql,
    );
    assert.ok(
      sql.includes(`(${"'s1@lead'"},'c2','lead','no-slice',${mysql.escape(detail)},1764000000000)`),
      sql,
    );
    assert.ok(sql.startsWith('START TRANSACTION;') && sql.endsWith('COMMIT;'));
    // the only unescaped quotes are the literals' own: the detail's quote is escaped
    assert.ok(!sql.includes("1'2"));
  });
});
