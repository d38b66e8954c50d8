import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { copierChanged, leadChanged } from '../../src/copytrade/copy-changes.js';
import { CopierBook } from '../../src/copytrade/fanout/book.js';
import { BookLoader } from '../../src/copytrade/fanout/book-loader.js';
import { createLogger } from '../../src/infra/log.js';
import { follow, seedCopiers, seedTrader, updateLead } from '../../src/load/copy-world.js';
import { TestWorld } from '../support/harness.js';

/** The book's loads one by one: a lead's every setting, rows gone, follows gone. */
describe('copy book loader', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let book: CopierBook;
  let loader: BookLoader;

  before(async () => {
    await world.setUp();
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    await seedTrader(world.copyRows(), exchange, 'lead1');
    await seedTrader(world.copyRows(), exchange, 'lead2');
    await seedCopiers(world.copyRows(), exchange, [
      { follow: follow('c1', 'lead1'), usdt: '1000' },
      { follow: follow('c2', 'lead1'), usdt: '1000' },
    ]);
    book = new CopierBook();
    loader = new BookLoader(world.engineDb, exchange, book, createLogger('silent'));
    await loader.all();
  });
  after(async () => {
    await exchange?.close();
    await world.tearDown();
  });

  it("a lead's change reloads all its settings", async () => {
    const lead = {
      traderId: 'lead1',
      instruments: ['BTC-USDT-SWAP', 'ETH-USDT-SWAP'],
      maxCopiers: 7,
      profitShareRatio: '0.2',
      onLiquidation: 'keep' as const,
      signalSource: 'frames' as const,
    };
    await updateLead(world.copyRows(), lead);
    await loader.apply(leadChanged('lead1'));
    assert.deepEqual(book.leadOf('lead1'), lead);
  });

  it('rows gone from MySQL leave the book: a follow, a copier, a lead', async () => {
    await world.engineDb.query(
      "INSERT INTO copy_follow (copier_id, trader_id, settings, status, updated_ms) VALUES ('c1', 'lead2', ?, 'active', 0)",
      [JSON.stringify(follow('c1', 'lead2'))],
    );
    await loader.apply(copierChanged('c1'));
    assert.deepEqual(
      book.followsOf('lead2').map((f) => f.copierId),
      ['c1'],
    );
    await world.engineDb.query("DELETE FROM copy_follow WHERE copier_id='c1' AND trader_id='lead2'");
    await loader.apply(copierChanged('c1'));
    assert.deepEqual(book.followsOf('lead2'), []);
    assert.deepEqual(
      book.followsOf('lead1').map((f) => f.copierId),
      ['c1', 'c2'],
    );

    await world.engineDb.query("DELETE FROM copy_follow WHERE copier_id='c2'");
    await world.engineDb.query("DELETE FROM copy_copier WHERE copier_id='c2'");
    await world.engineDb.query("DELETE FROM copy_trader WHERE trader_id='lead2'");
    // the whole reload finds what no message announced
    await loader.all();
    assert.equal(book.copier('c2'), undefined);
    assert.deepEqual(
      book.followsOf('lead1').map((f) => f.copierId),
      ['c1'],
    );
    assert.equal(book.leadOf('lead2'), undefined);
    assert.ok(book.leadOf('lead1'));
  });
});

describe('copy book loader: a copier the exchange does not know', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;

  before(async () => {
    await world.setUp();
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
  });
  after(async () => {
    await exchange?.close();
    await world.tearDown();
  });

  it('is left out of the book, named in the log; the others load', async () => {
    await seedTrader(world.copyRows(), exchange, 'lead1');
    await seedCopiers(world.copyRows(), exchange, [
      { follow: follow('c1', 'lead1'), usdt: '1000' },
      { follow: follow('c2', 'lead1'), usdt: '1000' },
    ]);
    // c2's account closed on the exchange (or never opened): the exchange answers UNKNOWN_ACCOUNT
    await world.engineDb.query("UPDATE copy_copier SET account_id='closed-c2' WHERE copier_id='c2'");
    const book = new CopierBook();
    const logged: string[] = [];
    const log = createLogger('silent');
    log.error = ((obj: { copierId?: string }, msg?: string) => {
      logged.push(`${obj.copierId}: ${msg}`);
    }) as typeof log.error;
    await new BookLoader(world.engineDb, exchange, book, log).all();
    assert.deepEqual(
      book.followsOf('lead1').map((f) => f.copierId),
      ['c1'],
    );
    assert.equal(logged.length, 1);
    assert.match(logged[0] as string, /^c2: .*exchange/);
  });
});
