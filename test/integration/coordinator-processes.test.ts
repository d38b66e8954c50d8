import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { type Child, TestWorld, waitFor } from '../support/harness.js';
import { assertLedgerClean, waitAllFinished } from '../support/settlement.js';

/**
 * Three engine processes, one coordinator. Only the reconciler takes orders in here, and
 * the counter's listing answers slowly, so the holder is nearly always in the middle of a
 * reconciler run: what a pause does to such a run is what the fence is for.
 */
describe('three engines: one coordinator, handed over on kill -9, fenced after SIGSTOP', () => {
  const TTL = 1500;
  const SHARDS = 4;
  const world = new TestWorld();
  const engines: Child[] = [];
  let loading: Promise<void>;

  const fence = async () => {
    const [rows] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT token, holder FROM coordinator_fence WHERE name='settlement'",
    );
    return rows[0] ? { token: Number(rows[0].token), holder: String(rows[0].holder) } : undefined;
  };
  /** The engine child whose consumer name (host-pid-random) holds the role. */
  const engineHolding = (holder: string) => {
    const e = engines.find((c) => c.proc.exitCode === null && holder.includes(`-${c.proc.pid}-`));
    assert.ok(e, `no running engine is ${holder}`);
    return e;
  };
  const runs = async (where: string) => {
    const [rows] = await world.engineDb.query<RowDataPacket[]>(
      `SELECT duty, token, holder, outcome, items, started_ms, finished_ms FROM coordinator_run WHERE ${where} ORDER BY id`,
    );
    return rows;
  };

  before(async () => {
    await world.setUp({
      TF_SOURCE: 'none',
      TF_SHARDS: String(SHARDS),
      TF_COORDINATOR_TTL_MS: String(TTL),
      TF_RECONCILE_INTERVAL_MS: '100',
      TF_RECONCILE_GRACE_MS: '200',
      // a pause must not turn the paused holder's listing call into a timeout: it has to
      // come back from the pause with its run intact and try to write
      TF_HTTP_TIMEOUT_MS: '30000',
      TF_CLAIM_IDLE_MS: '31000',
      TF_RECOVERY_IDLE_MS: '40000',
    });
    await world.startSim({ 'counter/orders': { latencyMs: 300 } });
    for (let i = 0; i < 3; i++) engines.push(world.spawn(['start']));
    await waitFor('three engines', async () => (await world.runningEngines()).length === 3, 30_000);
    const rows = makeCounterRows(400, { flow: 'mixed', shards: SHARDS, runId: 'cop' });
    loading = writeCounterRows(world.counterDb, rows, 40);
  });
  after(() => world.tearDown());

  it('kill -9 of the holder: another takes the role within the TTL plus one extension interval', async () => {
    const first = await waitFor('a coordinator', fence, 30_000, 20);
    await waitFor(
      'a reconciler run of the first holder',
      async () => (await runs(`token=${first.token} AND duty='reconciler'`)).length > 0,
      15_000,
      20,
    );
    const old = engineHolding(first.holder);
    old.kill('SIGKILL');
    const killedAt = Date.now();
    const next = await waitFor(
      'a new coordinator',
      async () => {
        const f = await fence();
        return f && f.token > first.token ? f : undefined;
      },
      10_000,
      10,
    );
    const handover = Date.now() - killedAt;
    // TTL + TTL/3, and a little for three processes on two cores to be scheduled
    assert.ok(handover <= TTL + TTL / 3 + 500, `handover took ${handover} ms`);
    assert.notEqual(next.holder, first.holder);
    engineHolding(next.holder);
    await old.exited;
    engines.push(world.spawn(['start']));
  });

  it('SIGSTOP of the holder past its TTL, then SIGCONT: its writes are refused by the fencing token', async () => {
    const before = await waitFor('a coordinator', fence, 30_000, 20);
    // a run has just finished; the next starts within the 100 ms interval and lasts over a
    // second (four slow listings), so 400 ms later the holder is in the middle of it
    await waitFor(
      'a reconciler run of this holder',
      async () => (await runs(`token=${before.token} AND duty='reconciler'`)).length > 0,
      15_000,
      20,
    );
    await new Promise((r) => setTimeout(r, 400));
    const paused = engineHolding(before.holder);
    paused.kill('SIGSTOP');
    try {
      const after = await waitFor(
        'a successor',
        async () => {
          const f = await fence();
          return f && f.token > before.token ? f : undefined;
        },
        10_000,
        20,
      );
      await waitFor(
        'a reconciler run of the successor',
        async () => (await runs(`token=${after.token} AND duty='reconciler' AND outcome='OK'`)).length > 0,
        15_000,
        20,
      );
    } finally {
      paused.kill('SIGCONT');
    }
    const refused = await waitFor(
      'the paused holder to be refused',
      async () => {
        const r = await runs(`token=${before.token} AND outcome='REFUSED'`);
        return r.length > 0 ? r : undefined;
      },
      15_000,
      50,
    );
    assert.ok(refused.some((r) => r.holder === before.holder));
    // it gave the role up and runs on as a step worker; the successor still leads
    assert.equal(paused.proc.exitCode, null);
    const now = await fence();
    assert.ok(now && now.token > before.token && now.holder !== before.holder);
    await new Promise((r) => setTimeout(r, TTL));
    const late = await runs(`token=${before.token} AND outcome='OK' AND finished_ms > ${Date.now() - TTL}`);
    assert.deepEqual(late, [], 'the old holder still wrote after its pause');
  });

  it('the run log: reconciler runs never overlapped, tokens only grew; every order settled once', async () => {
    await loading;
    await waitAllFinished(world.engineDb, 400, 60_000, 'cop-');
    const ok = await runs("duty='reconciler' AND outcome='OK'");
    ok.sort((a, b) => Number(a.started_ms) - Number(b.started_ms));
    assert.ok(new Set(ok.map((r) => Number(r.token))).size >= 3, 'expected runs under three tokens');
    for (let i = 1; i < ok.length; i++) {
      const [prev, cur] = [ok[i - 1] as RowDataPacket, ok[i] as RowDataPacket];
      assert.ok(
        Number(cur.started_ms) >= Number(prev.finished_ms),
        `run of token ${cur.token} started before the run of token ${prev.token} finished`,
      );
      assert.ok(Number(cur.token) >= Number(prev.token), `token ${cur.token} ran after ${prev.token}`);
    }
    const [took] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT SUM(items) AS n FROM coordinator_run WHERE duty='reconciler' AND outcome='OK'",
    );
    assert.equal(Number(took[0]?.n), 400, 'reconciler runs took in every order exactly once');
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });
});
