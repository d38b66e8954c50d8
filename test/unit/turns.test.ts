import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Turns } from '../../src/infra/turns.js';

describe('Turns: work one piece at a time', () => {
  it('a piece starts only once the one before it ended, in the order asked, across awaits', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const piece = (name: string, ms: number) =>
      turns.run(async () => {
        log.push(`${name}>`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`<${name}`);
        return name;
      });
    const results = await Promise.all([piece('a', 20), piece('b', 1), piece('c', 5)]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(log, ['a>', '<a', 'b>', '<b', 'c>', '<c']);
  });

  it('a piece that fails rejects its caller only; the next runs', async () => {
    const turns = new Turns();
    const failed = turns.run(async () => {
      throw new Error('no');
    });
    const next = turns.run(async () => 'ran');
    await assert.rejects(failed, /no/);
    assert.equal(await next, 'ran');
  });
});
