import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { PlaceOrderRequest } from '../../src/clients/exchange-wire.js';
import { fxStr } from '../../src/copytrade/domain/fixed.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { CopierBook } from '../../src/copytrade/fanout/book.js';
import { BookLoader } from '../../src/copytrade/fanout/book-loader.js';
import { CopyStore } from '../../src/copytrade/fanout/copy-store.js';
import { Fanout, type FanoutExchange } from '../../src/copytrade/fanout/fanout.js';
import { money } from '../../src/domain/money.js';
import { createLogger } from '../../src/infra/log.js';
import { createPool, type Pool } from '../../src/infra/mysql/client.js';
import { follow, INSTRUMENT, seedCopiers, seedTrader } from '../../src/load/copy-world.js';
import { MYSQL_URL, TestWorld } from '../support/harness.js';

/**
 * A split copy delivered again after its first holder placed some of its parts and recorded
 * nothing (it lost the role): the next holder finds on the exchange what was placed, a part
 * refused in the middle hiding none behind it, places no part twice, and its slice is what
 * filled, equal to the exchange's position. The first holder's exchange passes on only some
 * of each copy's parts (as an exchange refusing or losing the others would).
 */
describe('copy fan-out: a split copy delivered again after some of its parts were placed', () => {
  const world = new TestWorld();
  const log = createLogger('silent');
  let exchange: ExchangeClient;
  let writer: Pool;

  const signal = (signalId: string, price: string): TraderSignal => ({
    signalId,
    traderId: 'lead1',
    instrument: INSTRUMENT,
    action: 'open',
    side: 'long',
    qty: '2.5',
    price,
    leverage: 10,
    positionBefore: '0',
    filledMs: Date.now(),
  });
  const engine = async (ex: FanoutExchange, holdsRole: () => boolean = () => true) => {
    const book = new CopierBook();
    await new BookLoader(world.engineDb, exchange, book, log).all();
    const price = (await exchange.price(INSTRUMENT)).price;
    const fanout = new Fanout(
      book,
      ex,
      new CopyStore(world.engineDb, writer),
      () => ({ price, feeRate: '0.001' }),
      { batchSize: 10, holdsRole },
      log,
    );
    return { book, fanout, price };
  };
  /** The first holder: sends only the parts `keep` names (by the suffix of their id), then loses the role. */
  const firstHolder = async (keep: (clientOrderId: string) => boolean) => {
    let role = true;
    return engine(
      {
        placeOrders: async (orders) => {
          const sent: PlaceOrderRequest[] = orders.filter((o) => keep(o.clientOrderId));
          const results = await exchange.placeOrders(sent);
          role = false;
          const lost = (o: PlaceOrderRequest) => ({
            status: 'rejected',
            account: o.account,
            clientOrderId: o.clientOrderId,
            code: 'LOST',
            message: 'not sent',
          });
          return orders.map((o) => results[sent.indexOf(o)] ?? lost(o)) as never;
        },
        lookupOrders: (refs) => exchange.lookupOrders(refs),
      },
      () => role,
    );
  };
  const qtyOf = async (copierId: string) => {
    const [[s]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT qty FROM copy_slice WHERE copier_id=?',
      [copierId],
    );
    const held = (await exchange.positions(copierId)).positions.find((p) => p.instrument === INSTRUMENT);
    return { slice: s ? money(s.qty).toFixed() : 'none', position: held?.qty ?? '0' };
  };
  const recorded = async (signalKey: string, copierId: string) => {
    const [[o]] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT qty, status FROM copy_order WHERE signal_key=? AND copier_id=?',
      [signalKey, copierId],
    );
    return o ? [o.status, money(o.qty).toFixed()] : null;
  };

  before(async () => {
    await world.setUp();
    const admin = await world.startSim();
    await admin.setMaxOrderQty(INSTRUMENT, '10');
    exchange = createExchangeClient(world.config.counterUrl);
    writer = createPool(MYSQL_URL, world.config.engineDb, { connections: 2, multipleStatements: true });
    await seedTrader(world.copyRows(), exchange, 'lead1');
    // 10 contracts per trader contract: 25, split as 8.33, 8.33, 8.34
    await seedCopiers(world.copyRows(), exchange, [
      { follow: follow('gap', 'lead1', { sizing: { mode: 'fixed-ratio', ratio: '10' } }), usdt: '100000' },
    ]);
  });
  after(async () => {
    await writer?.end();
    await exchange?.close();
    await world.tearDown();
  });

  it('part 2 refused, parts 1 and 3 placed: the next holder finds both, places nothing, the slice 16.67', async () => {
    const first = await firstHolder((id) => !id.endsWith('/2'));
    const s = signal('g1', first.price);
    await assert.rejects(first.fanout.run({ signal: s, receivedMs: Date.now(), source: 'ws' }, false));
    assert.equal(await recorded('g1@lead1', 'gap'), null);
    const before = await exchange.ledger();

    const next = await engine(exchange);
    await next.fanout.run({ signal: s, receivedMs: Date.now(), source: 'ws' }, true);
    assert.deepEqual(await recorded('g1@lead1', 'gap'), ['FILLED', '16.67']);
    assert.deepEqual(await qtyOf('gap'), { slice: '16.67', position: '16.67' });
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, before.ordersApplied);
    assert.equal(ledger.replays, before.replays);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    // the book's balance is the exchange's: each part's fill counted once
    const inBook = next.book.copier('gap');
    assert.equal(inBook && fxStr(inBook.available), (await exchange.positions('gap')).available);
  });

  it('only part 1 placed before the crash: recorded as what filled, none of it placed again', async () => {
    const first = await firstHolder((id) => !/\/\d+$/.test(id));
    const s = signal('g2', first.price);
    await assert.rejects(first.fanout.run({ signal: s, receivedMs: Date.now(), source: 'ws' }, false));
    const before = await exchange.ledger();
    const next = await engine(exchange);
    await next.fanout.run({ signal: s, receivedMs: Date.now(), source: 'ws' }, true);
    assert.deepEqual(await recorded('g2@lead1', 'gap'), ['FILLED', '8.33']);
    assert.deepEqual(await qtyOf('gap'), { slice: '25', position: '25' });
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, before.ordersApplied);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
  });
});
