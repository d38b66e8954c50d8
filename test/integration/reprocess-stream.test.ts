import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { STEPS } from '../../src/settlement/domain/flows.js';
import { decodeMessage, GROUP, streamKey } from '../../src/settlement/domain/streams.js';
import { type Child, TestWorld, waitFor } from '../support/harness.js';
import { assertLedgerClean, assertStepsInOrder, statusCounts } from '../support/settlement.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Orders stuck at step 2 with their entries gone: the engine is killed while their step-2
 * calls are held by the simulator, then the stream of step 2 is deleted (a Redis that lost
 * it). The recovery scan is kept out of the way (idle 10 min), so only the script moves them.
 *   rpd: 3 DONE before the range ends        rpm: 1 parked MANUAL at step 2
 *   rpa: 4 stuck at step 2, inside the range  rpb: 3 stuck at step 2, after it (`mid`)
 */
describe('reprocess-stream', () => {
  const world = new TestWorld();
  let admin: SimAdmin;
  let redis: RedisClient;
  let key: string;
  let t0: number;
  let mid: number;
  let stuck: RowDataPacket[];

  const script = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/reprocess-stream.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...world.env },
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const inRange = () => ['--step', '2', '--since', String(t0), '--until', new Date(mid).toISOString()];
  const rows = async (prefix = '') => {
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT order_id, status, step, attempt, updated_ms FROM settlement_order WHERE order_id LIKE ? ORDER BY order_id',
      [`${prefix}%`],
    );
    return r.map((x) => ({ ...x }));
  };
  /** Everything the script could change: the orders, the step log, the streams and the key set. */
  const state = async () => {
    const [[log]] = await world.engineDb.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM settlement_step');
    const keys: string[] = [];
    // keys with a TTL (engine presence, the coordinator's lock) come and go on their own
    for (const k of await redis.keys(`${world.config.redisPrefix}:*`))
      if ((await redis.pttl(k)) === -1) keys.push(k);
    return {
      orders: await rows(),
      log: Number(log?.n),
      streams: await Promise.all(STEPS.map((s) => redis.xlen(streamKey(world.config.redisPrefix, s)))),
      keys: keys.sort(),
    };
  };
  const atStep2 = (prefix: string, n: number) =>
    waitFor(`${n} ${prefix} orders at step 2`, async () => {
      const [r] = await world.engineDb.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM settlement_order WHERE order_id LIKE ? AND status='RUNNING' AND step=2",
        [`${prefix}%`],
      );
      return Number(r[0]?.n) === n;
    });
  const write = (runId: string, n: number) =>
    writeCounterRows(world.counterDb, makeCounterRows(n, { flow: 'open', shards: 16, runId }));
  const count = (text: string, re: RegExp) => text.match(re)?.length ?? 0;

  before(async () => {
    await world.setUp({
      // step-2 calls are held long: no client timeout, no claim, no recovery before the kill
      TF_HTTP_TIMEOUT_MS: '30000',
      TF_CLAIM_IDLE_MS: '31000',
      TF_RECOVERY_IDLE_MS: '600000',
    });
    redis = createRedis(world.config.redisUrl);
    key = streamKey(world.config.redisPrefix, 2);
    admin = await world.startSim();
    const engine: Child = await world.startEngine();
    t0 = Date.now();
    await write('rpd', 3);
    await waitFor('rpd DONE', async () => (await statusCounts(world.engineDb, 'rpd-')).DONE === 3);
    await admin.setFaults({ 'funding/transfer': { rejectRate: 1, rejectCode: 'INSUFFICIENT_BALANCE' } });
    await write('rpm', 1);
    await waitFor('rpm MANUAL', async () => (await statusCounts(world.engineDb, 'rpm-')).MANUAL === 1);
    // the simulator applies a call at once and only holds the answer
    await admin.setFaults({ 'funding/transfer': { latencyMs: 60_000 } });
    await write('rpa', 4);
    await atStep2('rpa-', 4);
    await sleep(20);
    mid = Date.now();
    await sleep(20);
    await write('rpb', 3);
    await atStep2('rpb-', 3);
    engine.kill('SIGKILL');
    await engine.exited;
    await redis.del(key);
    await admin.setFaults({});
    stuck = await rows('rpb-');
  });
  after(async () => {
    redis?.disconnect();
    await world.tearDown();
  });

  it('a dry run lists what it would do, skips what is done or parked, and changes nothing', async () => {
    assert.match(script('--help'), /--apply/);
    const before = await state();
    const dry = script(...inRange());
    assert.equal(count(dry, /^would redrive rpa-\d into step 2, attempt 1 \(due since \S+\)$/gm), 4, dry);
    assert.equal(count(dry, /^skipped rpd-\d: DONE$/gm), 3, dry);
    assert.match(dry, /^skipped rpm-0: MANUAL at step 2 \(INSUFFICIENT_BALANCE\): retry it with/m);
    assert.doesNotMatch(dry, /rpb-/);
    assert.match(dry, /: 0 entries in the range/);
    assert.match(dry, /^4 would be redriven, 0 already queued, 0 pending, 0 scheduled, 4 skipped \(dry run/m);
    const json = script(...inRange(), '--json')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(json.filter((l) => l.action === 'would-redrive').length, 4);
    assert.equal(json.at(-1).summary.redriven, 4);
    assert.deepEqual(await state(), before, 'the dry run changed something');
  });

  it('--apply redrives exactly the orders in the range; a second --apply adds nothing', async () => {
    const before = await rows('rpa-');
    const applied = script(...inRange(), '--apply');
    assert.equal(count(applied, /^redrove rpa-\d into step 2, attempt 1/gm), 4, applied);
    assert.match(applied, /^4 redriven, 0 already queued, 0 pending, 0 scheduled, 4 skipped$/m);
    const entries = await redis.xrange(key, '-', '+');
    assert.deepEqual(
      entries
        .map(([, f]) => decodeMessage(f))
        .map((m) => ('error' in m ? m : [m.orderId, m.step, m.attempt]))
        .sort(),
      before.map((r) => [r.order_id, 2, 1]),
    );
    // the claim touched the redriven orders, and only them
    const after = await rows('rpa-');
    for (const [i, r] of after.entries()) assert.ok(r.updated_ms > (before[i]?.updated_ms ?? 0));
    assert.deepEqual(await rows('rpb-'), stuck);

    // a consumer that read one entry and went quiet: its entry is pending, not lost
    await redis.xgroup('CREATE', key, GROUP, '0');
    await redis.xreadgroup('GROUP', GROUP, 'ghost', 'COUNT', 1, 'STREAMS', key, '>');
    const again = script(...inRange(), '--apply');
    assert.match(again, /^0 redriven, 3 already queued, 1 pending, 0 scheduled, 4 skipped$/m);
    assert.equal(count(again, /^already queued rpa-\d: entry \d+-\d+, attempt 1$/gm), 3, again);
    assert.match(again, /^pending rpa-\d: entry \d+-\d+ with consumer ghost, idle \d+ ms/m);
    // the new entries are stamped now, after the range: found by their orders, not by id
    assert.match(again, /: 0 entries in the range/);
    assert.equal(await redis.xlen(key), 4);
  });

  it('entries no consumer will read (orphaned) are replaced, not duplicated', async () => {
    // the group's cursor moved past the queued entries, which are in nobody's pending list
    await redis.xgroup('SETID', key, GROUP, '$');
    // by id this time: the orders are found through their entries, having become due before the range
    const first = (await redis.xrange(key, '-', '+', 'COUNT', 1))[0]?.[0];
    assert.ok(first);
    const byId = ['--step', '2', '--from-id', first];
    const dry = script(...byId);
    assert.match(dry, /: 4 entries in the range \(0 queued, 1 pending, 3 orphaned, 0 stale, 0 malformed\)/);
    assert.equal(count(dry, /^would redrive rpa-\d .*replacing orphaned \d+-\d+\)$/gm), 3, dry);
    assert.doesNotMatch(dry, /rpb-/);
    assert.match(script(...byId, '--apply'), /^3 redriven, 0 already queued, 1 pending/m);
    assert.equal(await redis.xlen(key), 4);
    const again = script(...byId, '--apply');
    assert.match(again, /^0 redriven, 3 already queued, 1 pending/m);
    assert.match(again, /: 4 entries in the range \(3 queued, 1 pending, 0 orphaned, 0 stale, 0 malformed\)/);
    assert.equal(await redis.xlen(key), 4);
  });

  it('with an engine running the redriven orders settle once; the rest wait until asked for by id', async () => {
    // claims soon: the ghost's entry is taken over
    await world.startEngine({ TF_HTTP_TIMEOUT_MS: '1000', TF_CLAIM_IDLE_MS: '2000' });
    await waitFor('rpa DONE', async () => (await statusCounts(world.engineDb, 'rpa-')).DONE === 4);
    assert.deepEqual(await rows('rpb-'), stuck, 'an order outside the range moved');

    const byId = script('--step', '2', '--from-id', String(mid + 1), '--apply');
    assert.equal(count(byId, /^redrove rpb-\d into step 2, attempt 1/gm), 3, byId);
    // rpa ran step 2 after `mid`, when redriven
    assert.equal(count(byId, /^skipped rpa-\d: DONE$/gm), 4, byId);
    await waitFor('rpb DONE', async () => (await statusCounts(world.engineDb, 'rpb-')).DONE === 3);
    assert.deepEqual(await statusCounts(world.engineDb), { RUNNING: 0, DONE: 10, MANUAL: 1 });
    await assertStepsInOrder(world.engineDb);
    const ledger = await assertLedgerClean(world.config.counterUrl, world.engineDb);
    assert.equal(ledger.doubleEffects, 0);
  });
});
