import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { fxStr } from '../../src/copytrade/domain/fixed.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { CopierBook } from '../../src/copytrade/fanout/book.js';
import { BookLoader } from '../../src/copytrade/fanout/book-loader.js';
import { CopyStore } from '../../src/copytrade/fanout/copy-store.js';
import { Fanout, type FanoutExchange } from '../../src/copytrade/fanout/fanout.js';
import { createLogger } from '../../src/infra/log.js';
import { createPool, type Pool } from '../../src/infra/mysql/client.js';
import { follow, INSTRUMENT, seedCopiers, seedTrader } from '../../src/load/copy-world.js';
import { MYSQL_URL, TestWorld } from '../support/harness.js';

/**
 * A fill found again on a redelivery (the exchange had applied the order, nothing recorded
 * it) moves the copier's slice once and its in-memory balance once: the book's balance
 * equals the exchange's, whether the order was an earlier holder's or this process's own.
 */
describe('copy fan-out: a fill found again on a redelivery is counted once in the balance', () => {
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
    qty: '1',
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
  const balances = async (book: CopierBook, copiers: string[]) => {
    const inBook: Record<string, string> = {};
    const onExchange: Record<string, string> = {};
    for (const id of copiers) {
      const c = book.copier(id);
      inBook[id] = c ? fxStr(c.available) : 'missing';
      onExchange[id] = (await exchange.positions(id)).available;
    }
    return { inBook, onExchange };
  };

  const slicesMatchPositions = async (book: CopierBook) => {
    for (const id of ['c1', 'c2', 'c3']) {
      const held = (await exchange.positions(id)).positions.find((p) => p.instrument === INSTRUMENT);
      assert.equal(book.copier(id)?.slices[0]?.qty, held?.qty, id);
    }
  };

  before(async () => {
    await world.setUp();
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    writer = createPool(MYSQL_URL, world.config.engineDb, { connections: 2, multipleStatements: true });
    await seedTrader(world.copyRows(), exchange, 'lead1');
    await seedCopiers(
      world.copyRows(),
      exchange,
      ['c1', 'c2', 'c3'].map((id) => ({ follow: follow(id, 'lead1'), usdt: '10000' })),
    );
  });
  after(async () => {
    await writer?.end();
    await exchange?.close();
    await world.tearDown();
  });

  it("an earlier holder's fill, already in the balance the new book read", async () => {
    // the first holder places the batch, then loses the role before recording it
    let role = true;
    const first = await engine(
      {
        placeOrders: async (orders) => {
          const results = await exchange.placeOrders(orders);
          role = false;
          return results;
        },
        lookupOrders: (refs) => exchange.lookupOrders(refs),
      },
      () => role,
    );
    const s = signal('r1', first.price);
    await assert.rejects(first.fanout.run({ signal: s, receivedMs: Date.now(), source: 'ws' }, false));

    const next = await engine(exchange);
    await next.fanout.run({ signal: s, receivedMs: Date.now(), source: 'ws' }, true);
    const { inBook, onExchange } = await balances(next.book, ['c1', 'c2', 'c3']);
    assert.deepEqual(inBook, onExchange);
    await slicesMatchPositions(next.book);
  });

  it("this process's own order whose answer was lost: its fill still moves the balance", async () => {
    let lost = true;
    const own = await engine({
      placeOrders: async (orders) => {
        const results = await exchange.placeOrders(orders);
        if (lost) {
          lost = false;
          throw new Error('answer lost');
        }
        return results;
      },
      lookupOrders: (refs) => exchange.lookupOrders(refs),
    });
    const s = signal('r2', own.price);
    const entry = { signal: s, receivedMs: Date.now(), source: 'ws' } as const;
    await assert.rejects(own.fanout.run(entry, false), /answer lost/);
    await own.fanout.run(entry, true);
    const { inBook, onExchange } = await balances(own.book, ['c1', 'c2', 'c3']);
    assert.deepEqual(inBook, onExchange);
    await slicesMatchPositions(own.book);
  });
});
