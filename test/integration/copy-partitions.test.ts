import { after, before, describe, it } from 'node:test';
import { PartitionedCopy, partitionScenario } from '../support/copy-partitions.js';
import { freePort, TestWorld } from '../support/harness.js';

describe('the copy fan-out over two partitions, two `tradeflow copy` processes', () => {
  const world = new TestWorld();
  const copy = new PartitionedCopy(world);

  before(async () => {
    copy.ingress = await freePort();
    copy.api = await freePort();
    await world.setUp(PartitionedCopy.env(copy.ingress, copy.api));
    await copy.seed();
  });
  after(async () => {
    await copy.close();
    await world.tearDown();
  });

  it('each process sizes and places its own partition of copiers; a holder killed -9 mid fan-out: the survivor takes its partition within the TTL and finishes it, nothing placed twice', async () => {
    await partitionScenario(copy);
  });
});
