import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { decryptSecret, hashToken, SecretError } from '../../src/copytrade/accounts/secrets.js';
import { loadCredentials } from '../../src/copytrade/api/credentials.js';
import { follow, seedCopiers, seedTrader } from '../../src/load/copy-world.js';
import { TestWorld } from '../support/harness.js';

/**
 * Issue 12: a copier's token is kept only as its SHA-256, a lead's signing secret only
 * encrypted under TF_SECRET_KEY; what the seeders hand back once is nowhere in MySQL.
 */
describe('copy trading: credentials at rest', () => {
  const world = new TestWorld();
  const key = randomBytes(32);
  let exchange: ExchangeClient;
  let trader: { traderId: string; apiKey: string; secret: string };
  let tokens: Map<string, string>;

  const rowsOf = async (table: string) =>
    (await world.engineDb.query<RowDataPacket[]>(`SELECT * FROM ${table}`))[0];
  /** every column of `row` as it could show a plaintext: text, and the bytes read as UTF-8 */
  const asText = (row: RowDataPacket): string =>
    Object.values(row)
      .map((v) => (Buffer.isBuffer(v) ? `${v.toString('utf8')} ${v.toString('latin1')}` : String(v)))
      .join(' ');

  const hexOf = async (sql: string, id: string): Promise<string> => {
    const [rows] = await world.engineDb.query<RowDataPacket[]>(sql, [id]);
    return String(rows[0]?.v).toLowerCase();
  };

  before(async () => {
    await world.setUp({ TF_SECRET_KEY: key.toString('hex') });
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    tokens = await seedCopiers(world.copyRows(), exchange, [
      { follow: follow('c1', 'lead1'), usdt: '1000' },
      { follow: follow('c2', 'lead1'), usdt: '1000' },
    ]);
  });
  after(async () => {
    await exchange?.close();
    await world.tearDown();
  });

  it('MySQL holds no plaintext token or secret: a hash and a ciphertext that opens with the key', async () => {
    assert.deepEqual([...tokens.keys()], ['c1', 'c2']);
    const copiers = await rowsOf('copy_copier');
    assert.equal(copiers.length, 2);
    for (const row of copiers) {
      const token = tokens.get(row.copier_id) ?? assert.fail(`no token for ${row.copier_id}`);
      assert.ok(!asText(row).includes(token), `copy_copier ${row.copier_id} shows its token`);
      const hash = await hexOf(
        'SELECT HEX(token_hash) AS v FROM copy_copier WHERE copier_id=?',
        row.copier_id,
      );
      assert.equal(hash, hashToken(token).toString('hex'));
    }
    const [lead] = await rowsOf('copy_trader');
    assert.ok(lead);
    assert.ok(!asText(lead).includes(trader.secret), 'copy_trader shows the secret');
    const sealed = await hexOf(
      'SELECT HEX(secret_enc) AS v FROM copy_trader WHERE trader_id=?',
      trader.traderId,
    );
    assert.ok(!sealed.includes(Buffer.from(trader.secret).toString('hex')));
    assert.equal(decryptSecret(Buffer.from(sealed, 'hex'), key), trader.secret);
  });

  it('the loader finds tokens by hash and opens secrets with the key; another key or a changed byte leaves the trader out', async () => {
    const unreadable: [string, Error][] = [];
    const opts = (secretKey: Buffer) => ({
      secretKey,
      onUnreadableSecret: (traderId: string, err: Error) => unreadable.push([traderId, err]),
    });
    const rows = await loadCredentials(world.engineDb, opts(key));
    assert.deepEqual(rows.traders, [{ apiKey: trader.apiKey, traderId: 'lead1', secret: trader.secret }]);
    assert.deepEqual(
      rows.copiers.map((c) => [c.copierId, c.tokenHash]).sort(),
      [...tokens].map(([id, token]) => [id, hashToken(token).toString('hex')]),
    );
    assert.equal(unreadable.length, 0);

    const otherKey = await loadCredentials(world.engineDb, opts(randomBytes(32)));
    assert.deepEqual(otherKey.traders, []);
    assert.equal(otherKey.copiers.length, 2, 'copiers do not depend on the key');
    // one byte of the ciphertext flipped in MySQL
    await world.engineDb.query(
      'UPDATE copy_trader SET secret_enc = CONCAT(LEFT(secret_enc, 30), CHAR(ASCII(SUBSTRING(secret_enc, 31, 1)) ^ 1), SUBSTRING(secret_enc, 32)) WHERE trader_id=?',
      [trader.traderId],
    );
    const tampered = await loadCredentials(world.engineDb, opts(key));
    assert.deepEqual(tampered.traders, []);
    assert.deepEqual(
      unreadable.map(([id, err]) => [id, err instanceof SecretError]),
      [
        ['lead1', true],
        ['lead1', true],
      ],
    );
  });
});
