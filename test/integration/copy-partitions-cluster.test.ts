import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PartitionStreams } from '../../src/copytrade/ingress/partition-streams.js';
import { PARTS, PartitionedCopy, partitionScenario } from '../support/copy-partitions.js';
import { freePort, TestWorld } from '../support/harness.js';
import { masterOf, nodeHolds, RedisCluster } from '../support/redis-cluster.js';

describe('the copy fan-out over two partitions on a Redis Cluster of three masters', () => {
  const cluster = new RedisCluster();
  const world = new TestWorld();
  const copy = new PartitionedCopy(world);
  let streams: PartitionStreams;

  before(async () => {
    await cluster.start(3);
    // a prefix whose two partitions' hash tags fall on two masters (found, not hoped for:
    // a tag's slot is fixed by its name)
    let prefix = '';
    for (let n = 0; ; n++) {
      prefix = `{tfc${world.id}${n}}`;
      streams = new PartitionStreams(prefix, PARTS);
      if (masterOf(cluster, streams.stream(0)) !== masterOf(cluster, streams.stream(1))) break;
    }
    copy.ingress = await freePort();
    copy.api = await freePort();
    await world.setUp({
      ...PartitionedCopy.env(copy.ingress, copy.api),
      TF_REDIS_URL: cluster.url,
      TF_REDIS_PREFIX: prefix,
    });
    await copy.seed();
  });
  after(async () => {
    await copy.close();
    await world.tearDown();
    await cluster.stop();
  });

  it('the partitions streams and locks on different masters; each process its own copiers; a holder killed -9 mid fan-out, taken over within the TTL', async () => {
    await partitionScenario(copy, async () => {
      // each partition's stream and role lock live on the master of its own hash tag
      const owners = [0, 1].map((p) => masterOf(cluster, streams.stream(p)));
      assert.notEqual(owners[0], owners[1]);
      for (const p of [0, 1]) {
        assert.ok(
          nodeHolds(owners[p] as number, streams.stream(p)),
          `stream of partition ${p} on ${owners[p]}`,
        );
        const lock = `${streams.prefixOf(p)}:copy:fanout:p${p}`;
        assert.equal(masterOf(cluster, lock), owners[p]);
        assert.ok(nodeHolds(owners[p] as number, lock), `lock of partition ${p} on ${owners[p]}`);
      }
    });
  });
});
