import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allPartitions,
  barePrefix,
  partitionFence,
  partitionOf,
  partitionPrefix,
  partitionRole,
  partitionsPerProcess,
} from '../../src/copytrade/domain/partition.js';
import { PartitionStreams } from '../../src/copytrade/ingress/partition-streams.js';

describe('copy fan-out partitions', () => {
  it('a copier has one partition, stable: the first 4 bytes of sha1(copierId) mod P', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `c${i}`);
    for (const id of ids) {
      const p = partitionOf(id, 3);
      assert.ok(p >= 0 && p < 3);
      assert.equal(partitionOf(id, 3), p);
      assert.equal(partitionOf(id, 1), 0);
    }
    // spread: each of 3 partitions gets a fair share of 1,000 copiers
    const counts = [0, 0, 0];
    for (const id of ids) (counts[partitionOf(id, 3)] as number)++;
    for (const n of counts) assert.ok(n > 250 && n < 420, `counts ${counts}`);
  });

  it('the known values of the hash: a change of it would move copiers between partitions on a deploy', () => {
    // the first 4 bytes of sha1: a 86f7e437, b e9d71f5e, c000 e2db4745
    assert.deepEqual(
      ['a', 'b', 'c000', 'copier-1', 'copier-2'].map((id) => [id, partitionOf(id, 7)]),
      [
        ['a', 6],
        ['b', 6],
        ['c000', 2],
        ['copier-1', 4],
        ['copier-2', 0],
      ],
    );
    assert.equal(partitionOf('c000', 2), 0xe2db4745 % 2);
  });

  it('with one partition every key is as before; with more, each partition has a hash tag of its own', () => {
    assert.equal(partitionPrefix('tf', 0, 1), 'tf');
    assert.equal(partitionPrefix('{tf}', 0, 1), '{tf}');
    assert.equal(partitionPrefix('{tf}', 1, 2), '{tf-p1}');
    assert.equal(partitionPrefix('tf', 0, 2), '{tf-p0}');
    assert.equal(barePrefix('{tf}'), 'tf');
    assert.equal(barePrefix('tf'), 'tf');
    assert.equal(partitionRole(3), 'copy:fanout:p3');
    assert.equal(partitionFence(3), 'copy-fanout-p3');

    const one = new PartitionStreams('{tf}');
    assert.deepEqual(one.all(), [0]);
    assert.equal(one.stream(0), '{tf}:copy:signals');
    assert.equal(one.deadLetter(0), '{tf}:copy:signals:dead');
    assert.equal(one.seen(0, 'lead1', 's1'), '{tf}:copy:seen:lead1:s1');
    assert.equal(one.copierStream('anyone'), '{tf}:copy:signals');

    const two = new PartitionStreams('{tf}', 2);
    assert.deepEqual(two.all(), [0, 1]);
    assert.equal(two.stream(1), '{tf-p1}:copy:signals');
    assert.equal(two.deadLetter(0), '{tf-p0}:copy:signals:dead');
    assert.equal(two.seen(1, 'lead1', 's1'), '{tf-p1}:copy:seen:lead1:s1');
    assert.equal(two.copierStream('a'), `{tf-p${partitionOf('a', 2)}}:copy:signals`);
  });

  it('a process holds at most ceil(P / live processes)', () => {
    assert.equal(partitionsPerProcess(2, 2), 1);
    assert.equal(partitionsPerProcess(2, 1), 2);
    assert.equal(partitionsPerProcess(3, 2), 2);
    assert.equal(partitionsPerProcess(4, 3), 2);
    assert.equal(partitionsPerProcess(4, 0), 4);
    assert.deepEqual(allPartitions(3), [0, 1, 2]);
  });
});
