import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type InstrumentId } from '../clients/exchange.js';
import type { Config } from '../config.js';
import { copyChangePublisher } from '../copytrade/copy-changes.js';
import { fx } from '../copytrade/domain/fixed.js';
import type { FollowSettings } from '../copytrade/domain/settings.js';
import { signalKeyOf } from '../copytrade/fanout/fanout.js';
import type { Pool } from '../infra/mysql/client.js';
import { percentiles } from '../infra/percentiles.js';
import { connectRedis } from '../infra/redis.js';
import {
  type CopyRows,
  cycleSignalOf,
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  TraderSocket,
} from '../load/copy-world.js';
import { spawnTradeflow, stopChild } from './children.js';

const LEAD = 'demo-lead';
const COPIERS = 500;
/** open 2, close half, close the rest: every copier ends flat, so the exchange can be checked */
const CYCLES = 7;

export interface CopyDemoDeps {
  config: Config;
  engineDb: Pool;
  childEnv: NodeJS.ProcessEnv;
  say: (line: string) => void;
  until: <T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string) => Promise<T>;
}

/**
 * The copy-trading half of the demo, on the simulator already running: a lead trader and 500
 * copiers with mixed settings (some set up to be skipped, each for a named reason), the copy
 * engine as a child process, 21 signals over the trader's WebSocket, then what happened:
 * orders and skips by reason, latency, the exchange's ledger, and every copier flat on the
 * exchange and in its slices. True when all of that holds.
 */
export async function copyDemo({ config, engineDb, childEnv, say, until }: CopyDemoDeps): Promise<boolean> {
  const exchange = createExchangeClient(config.exchangeUrl, { connections: 16 });
  const redis = connectRedis(config.redisUrl);
  const rows = {
    db: engineDb,
    publish: copyChangePublisher(redis, config.redisPrefix),
    secretKey: config.secretKey,
  };
  let engine: ReturnType<typeof spawnTradeflow> | null = null;
  let socket: TraderSocket | null = null;
  try {
    await forgetEarlierRuns(rows);
    const lead = await seedTrader(rows, exchange, LEAD, {
      instruments: [INSTRUMENT, 'ETH-USDT-SWAP'],
      maxCopiers: COPIERS,
    });
    const copiers = Array.from({ length: COPIERS }, (_, i) => copierOf(i));
    await seedCopiers(rows, exchange, copiers);
    say(
      `\ncopy trading: ${LEAD} with ${COPIERS} copiers (fixed amount or fixed ratio, one-way or hedge; ` +
        '10 with 5 USDT, 10 paused, 10 following ETH only, 10 at a ratio too small for the min quantity)',
    );

    engine = spawnTradeflow(['copy'], childEnv);
    socket = await until(
      () => TraderSocket.open(config.copyIngressPort, lead.apiKey, lead.secret),
      30_000,
      'the copy engine to accept traders',
    );
    const keys: string[] = [];
    const runId = Date.now().toString(36);
    for (let i = 0; i < CYCLES * 3; i++) {
      const signal = cycleSignalOf(
        LEAD,
        `${runId}-${i}`,
        i % 3,
        (await exchange.price(INSTRUMENT as InstrumentId)).price,
      );
      const ack = await socket.send(signal);
      if (ack.type !== 'ack') throw new Error(`signal refused: ${JSON.stringify(ack)}`);
      const key = signalKeyOf(LEAD, signal.signalId);
      keys.push(key);
      await until(async () => (await fannedOut(engineDb, key)) || undefined, 30_000, `signal ${key}`);
    }
    say(`sent ${keys.length} signals: ${CYCLES} × (open 2, close 1 of 2, close 1 of 1)`);

    const [signals] = await engineDb.query<RowDataPacket[]>(
      'SELECT done_ms - received_ms AS ms, orders, skips FROM copy_signal WHERE trader_id=?',
      [LEAD],
    );
    const [skips] = await engineDb.query<RowDataPacket[]>(
      'SELECT reason, COUNT(*) AS n FROM copy_skip WHERE trader_id=? GROUP BY reason ORDER BY reason',
      [LEAD],
    );
    const [orders] = await engineDb.query<RowDataPacket[]>(
      'SELECT status, COUNT(*) AS n FROM copy_order WHERE trader_id=? GROUP BY status ORDER BY status',
      [LEAD],
    );
    const p = percentiles(signals.map((s) => Number(s.ms)));
    say(`copy orders: ${orders.map((o) => `${o.status} ${o.n}`).join(', ')}`);
    say(`skips: ${skips.map((s) => `${s.reason} ${s.n}`).join(', ')}`);
    say(
      `signal frame → every copier's order filled and recorded (ms): p50 ${p.p50}, p99 ${p.p99}, max ${p.max} ` +
        '(a cold start; npm run bench:copy measures after a warm-up)',
    );

    const [[held]] = await engineDb.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM copy_slice WHERE copier_id LIKE 'demo-c%' AND qty <> 0",
    );
    let open = 0;
    for (const c of copiers) {
      const { positions } = await exchange.positions(c.follow.copierId);
      if (positions.some((x) => fx(x.qty) !== 0n)) open++;
    }
    const ledger = await exchange.ledger();
    say(
      `after the last close: ${held?.n} slices hold anything, ${open} copiers hold a position on the exchange; ` +
        `exchange ledger: conserved ${ledger.conserved}, duplicated client order ids ${ledger.duplicatedClientOrderIds}`,
    );
    const filled = Number(orders.find((o) => o.status === 'FILLED')?.n ?? 0);
    return (
      signals.length === keys.length &&
      filled > 0 &&
      skips.length >= 4 &&
      Number(held?.n) === 0 &&
      open === 0 &&
      ledger.conserved &&
      ledger.duplicatedClientOrderIds === 0
    );
  } finally {
    socket?.close();
    if (engine) await stopChild(engine);
    await exchange.close();
    redis.disconnect();
  }
}

/** Copier i: most copy; every 50th of a few kinds is set up to be skipped, each for its own reason. */
function copierOf(i: number): { follow: FollowSettings; usdt: string } {
  const id = `demo-c${i}`;
  const base: Partial<FollowSettings> = {
    sizing: i % 3 === 0 ? { mode: 'fixed-ratio', ratio: '0.5' } : { mode: 'fixed-amount', margin: '50' },
    positionMode: i % 4 === 1 ? 'hedge' : 'one-way',
  };
  const kind = i % 50;
  if (kind === 7) return { follow: follow(id, LEAD, base), usdt: '5' };
  if (kind === 13) return { follow: follow(id, LEAD, { ...base, status: 'paused' }), usdt: '10000' };
  if (kind === 21)
    return { follow: follow(id, LEAD, { ...base, instruments: ['ETH-USDT-SWAP'] }), usdt: '10000' };
  if (kind === 33) {
    return {
      follow: follow(id, LEAD, { ...base, sizing: { mode: 'fixed-ratio', ratio: '0.001' } }),
      usdt: '10000',
    };
  }
  return { follow: follow(id, LEAD, base), usdt: '10000' };
}

/** The demo's rows of an earlier run: the simulator is new, so their accounts are gone. */
async function forgetEarlierRuns({ db, publish }: CopyRows): Promise<void> {
  for (const table of ['copy_order', 'copy_skip', 'copy_slice', 'copy_follow', 'copy_copier']) {
    await db.query(`DELETE FROM ${table} WHERE copier_id LIKE 'demo-c%'`);
  }
  await db.query('DELETE FROM copy_signal WHERE trader_id=?', [LEAD]);
  await db.query('DELETE FROM copy_trader WHERE trader_id=?', [LEAD]);
  // a book still running drops them: many copiers, one message
  await publish({ kind: 'all' });
}
