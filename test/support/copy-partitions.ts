import assert from 'node:assert/strict';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { partitionFence, partitionOf } from '../../src/copytrade/domain/partition.js';
import {
  doneMs,
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { type Child, freePort, type TestWorld, waitFor } from './harness.js';
import { httpCall } from './http-call.js';

/**
 * Two `tradeflow copy` processes over a fan-out of two partitions (TF_COPY_PARTITIONS=2),
 * 40 copiers of one lead: what copy-partitions.test.ts runs on one Redis and
 * copy-partitions-cluster.test.ts on a Redis Cluster. Each process has an ops port of its
 * own (its /metrics say what its book holds and what it recorded); the ingress and API
 * ports are the same for both: only the holder of the main role binds them.
 */
export const PARTS = 2;
export const COPIERS = Array.from({ length: 40 }, (_, i) => `c${String(i).padStart(2, '0')}`);
export const TTL_MS = 2000;

export interface Copy {
  child: Child;
  ops: number;
}

export class PartitionedCopy {
  exchange!: ExchangeClient;
  admin!: SimAdmin;
  ingress = 0;
  api = 0;
  tokens = new Map<string, string>();
  trader!: { traderId: string; apiKey: string; secret: string };
  processes: Copy[] = [];

  constructor(readonly world: TestWorld) {}

  /** Extra settings the world is set up with. */
  static env(ingress: number, api: number): Record<string, string> {
    return {
      TF_COPY_PARTITIONS: String(PARTS),
      TF_COPY_INGRESS_PORT: String(ingress),
      TF_COPY_API_PORT: String(api),
      TF_COORDINATOR_TTL_MS: String(TTL_MS),
      // several batches a partition (they go in parallel): the kill lands among them
      TF_COPY_BATCH_SIZE: '5',
    };
  }

  async seed(): Promise<void> {
    this.world.env.TF_EXCHANGE_URL = this.world.config.counterUrl;
    this.admin = await this.world.startSim();
    this.exchange = createExchangeClient(this.world.config.counterUrl);
    this.trader = await seedTrader(this.world.copyRows(), this.exchange, 'lead1');
    this.tokens = await seedCopiers(
      this.world.copyRows(),
      this.exchange,
      COPIERS.map((id) => ({ follow: follow(id, 'lead1'), usdt: '10000' })),
    );
  }

  async spawn(): Promise<Copy> {
    const ops = await freePort();
    const child = this.world.spawn(['copy'], { TF_COPY_OPS_PORT: String(ops) });
    const p = { child, ops };
    this.processes.push(p);
    return p;
  }

  async fenceHolder(name: string): Promise<string | undefined> {
    const [[row]] = await this.world.engineDb.query<RowDataPacket[]>(
      'SELECT holder FROM coordinator_fence WHERE name=?',
      [name],
    );
    return row ? String(row.holder) : undefined;
  }

  /** The process whose consumer name the fence of `name` records. */
  async holderOf(name: string): Promise<Copy | undefined> {
    const holder = await this.fenceHolder(name);
    return this.processes.find((p) => holder?.includes(`-${p.child.proc.pid}-`));
  }

  /** A process's metric (summed over its labels), from its /metrics. */
  async metric(p: Copy, name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${p.ops}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
    }
    return sum;
  }

  /** The copiers of partition `part`. */
  static copiersOf(part: number): string[] {
    return COPIERS.filter((c) => partitionOf(c, PARTS) === part);
  }

  /**
   * Waits until each live process holds one partition (by the fences) and its partition's
   * engine runs (its book holds exactly that partition's copiers); returns the holder of each.
   */
  async settled(live: Copy[], timeoutMs = 30_000): Promise<Copy[]> {
    return waitFor(
      'every partition held, one per process, its book loaded',
      async () => {
        const holders: Copy[] = [];
        for (let part = 0; part < PARTS; part++) {
          const h = await this.holderOf(partitionFence(part));
          if (!h || !live.includes(h)) return undefined;
          holders.push(h);
        }
        if (live.length > 1 && new Set(holders).size !== holders.length) return undefined;
        for (const [part, h] of holders.entries()) {
          if (live.length > 1) {
            const copiers = await this.metric(h, 'tradeflow_copy_book_copiers');
            if (copiers !== PartitionedCopy.copiersOf(part).length) return undefined;
          }
        }
        return holders;
      },
      timeoutMs,
      100,
    );
  }

  async socket(): Promise<TraderSocket> {
    return waitFor(
      'the signal ingress',
      () => TraderSocket.open(this.ingress, this.trader.apiKey, this.trader.secret),
      30_000,
      100,
    );
  }

  async send(socket: TraderSocket, signalId: string, over: Parameters<typeof signalOf>[1] = {}) {
    const price = (await this.exchange.price(INSTRUMENT)).price;
    const ack = await socket.send(signalOf('lead1', { signalId, price, ...over }));
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
  }

  async done(signalKey: string, timeoutMs = 30_000): Promise<number> {
    await waitFor(
      `${signalKey} fanned out in every partition`,
      () => fannedOut(this.world.engineDb, signalKey),
      timeoutMs,
      20,
    );
    const ms = await doneMs(this.world.engineDb, signalKey);
    assert.ok(ms !== null && ms >= 0, `doneMs ${ms}`);
    return ms;
  }

  async count(sql: string, args: unknown[] = []): Promise<number> {
    const [rows] = await this.world.engineDb.query<RowDataPacket[]>(sql, args);
    return Number(rows[0]?.n);
  }

  /** Every copier's exchange position equals its slice (one lead, long only). */
  async positionsMatchSlices(): Promise<void> {
    for (const c of COPIERS) {
      const [[slice]] = await this.world.engineDb.query<RowDataPacket[]>(
        "SELECT qty FROM copy_slice WHERE copier_id=? AND side='long'",
        [c],
      );
      const pos = (await this.exchange.positions(c)).positions.find((p) => p.instrument === INSTRUMENT);
      assert.equal(Number(pos?.qty ?? 0), Number(slice?.qty ?? 0), `copier ${c}`);
    }
  }

  async ledgerClean(ordersApplied: number): Promise<void> {
    const ledger = await this.exchange.ledger();
    assert.equal(ledger.ordersApplied, ordersApplied);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.equal(ledger.conserved, true);
  }

  async close(): Promise<void> {
    await this.exchange?.close();
  }
}

/**
 * The scenario both files run: two processes settle on one partition each; two signals are
 * fanned out, each process placing its own partition's copiers only; then the holder of
 * one partition (not the ingress's) is killed -9 while its batches are at the exchange,
 * and the survivor takes the partition within the lock's TTL and finishes it, placing
 * nothing twice.
 */
export async function partitionScenario(copy: PartitionedCopy, check: () => Promise<void> = async () => {}) {
  const a = await copy.spawn();
  const b = await copy.spawn();
  const holders = await copy.settled([a, b]).catch((err: Error) => {
    // what the processes said is the likeliest reason
    throw new Error(
      `${err.message}\n${[a, b].map((p) => `${p.child.stdout.slice(-1500)}${p.child.stderr.slice(-1500)}`).join('\n---\n')}`,
    );
  });
  const socket = await copy.socket();
  try {
    await copy.send(socket, 'o1');
    await copy.done('o1@lead1');
    await copy.send(socket, 'o2', { qty: '2' });
    await copy.done('o2@lead1');
    await check();

    // every copier once per signal, on the exchange and in MySQL
    assert.equal(
      await copy.count(
        "SELECT COUNT(*) AS n FROM copy_order WHERE status='FILLED' AND signal_key IN ('o1@lead1','o2@lead1')",
      ),
      2 * COPIERS.length,
    );
    await copy.ledgerClean(2 * COPIERS.length);
    await copy.positionsMatchSlices();
    // each process recorded the orders of its own partition's copiers, and no other
    for (const [part, h] of holders.entries()) {
      assert.equal(
        await copy.metric(h, 'tradeflow_copy_orders_total'),
        2 * PartitionedCopy.copiersOf(part).length,
        `orders recorded by the holder of partition ${part}`,
      );
    }
    // one copy_signal row per partition, each done
    assert.equal(
      await copy.count(
        "SELECT COUNT(*) AS n FROM copy_signal WHERE signal_key='o1@lead1' AND done_ms IS NOT NULL",
      ),
      PARTS,
    );

    // the kill: the partition whose holder is not the ingress's
    const main = await copy.holderOf('copy-fanout');
    assert.ok(main, 'no holder of the main role');
    const victimPart = holders.findIndex((h) => h !== main);
    const victim = holders[victimPart] as Copy;
    const survivor = victim === a ? b : a;
    const victims = PartitionedCopy.copiersOf(victimPart);
    const before = (await copy.exchange.ledger()).ordersApplied;
    const qtyOf = async (c: string) =>
      Number((await copy.exchange.positions(c)).positions.find((p) => p.instrument === INSTRUMENT)?.qty ?? 0);
    const held = await qtyOf(victims[0] as string);
    // the exchange applies each batch at once and answers 1.5 s later: the kill falls between
    await copy.admin.setFaults({ 'exchange/orders': { latencyMs: 1500 } });
    await copy.send(socket, 'x1', { action: 'close', qty: '1', positionBefore: '3' });
    await waitFor(
      "the victim partition's orders applied by the exchange",
      async () => ((await qtyOf(victims[0] as string)) < held ? true : undefined),
      10_000,
      20,
    );
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.child.exited;
    assert.equal(
      await copy.count(
        `SELECT COUNT(*) AS n FROM copy_order WHERE signal_key='x1@lead1' AND copier_id IN (${victims.map(() => '?').join(',')})`,
        victims,
      ),
      0,
      'the victim recorded nothing of x1 before it died',
    );
    await copy.admin.setFaults({});
    // the survivor takes the partition: within the lock's TTL (plus a tick and the fence's write)
    await waitFor(
      'the survivor holding the victim partition',
      async () => ((await copy.holderOf(partitionFence(victimPart))) === survivor ? true : undefined),
      3 * TTL_MS,
      50,
    );
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs <= 2 * TTL_MS, `took the partition ${tookMs} ms after the kill`);
    await copy.done('x1@lead1');
    assert.equal(
      await copy.count(
        "SELECT COUNT(*) AS n FROM copy_order WHERE signal_key='x1@lead1' AND status='FILLED'",
      ),
      COPIERS.length,
    );
    await copy.ledgerClean(before + COPIERS.length);
    await copy.positionsMatchSlices();
    // the survivor now holds both and runs on
    await copy.settled([survivor]);
    await copy.send(socket, 'o3');
    await copy.done('o3@lead1');
    await copy.ledgerClean(before + 2 * COPIERS.length);
    await copy.positionsMatchSlices();

    // a copier's close-out goes to its own partition only: one copy_signal row, of that partition
    const closed = COPIERS[0] as string;
    const answer = await httpCall(copy.api, {
      method: 'DELETE',
      path: '/follows/lead1?slices=close',
      headers: { authorization: `Bearer ${copy.tokens.get(closed)}` },
    });
    assert.equal(answer.status, 200, answer.body);
    const key = `stop/${String(answer.json?.requestId)}@lead1`;
    await copy.done(key);
    const [rows] = await copy.world.engineDb.query<RowDataPacket[]>(
      'SELECT part FROM copy_signal WHERE signal_key=?',
      [key],
    );
    assert.deepEqual(
      rows.map((r) => Number(r.part)),
      [partitionOf(closed, PARTS)],
    );
    assert.equal(await qtyOf(closed), 0);
    await copy.positionsMatchSlices();
  } finally {
    socket.close();
  }
  for (const p of copy.processes) p.child.kill('SIGTERM');
  for (const p of copy.processes) await p.child.exited;
}
