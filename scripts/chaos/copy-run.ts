/**
 * One copy-trading run: two `tradeflow copy` processes (the fan-out role's holder and a
 * standby), a lead trader with a few hundred copiers of mixed settings, a few dozen signals
 * over the trader's WebSocket (open 2, close 1 of 2, close the last; resent to whichever
 * process holds the role when a socket breaks) while the planned faults hit. Then the checks:
 * every accepted signal fanned out with exactly one order or one skip per copier, no client
 * order id applied twice on the exchange, the exchange's money conserved, and every copier's
 * exchange position equal to its slices.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient, type InstrumentId } from '../../src/clients/exchange.js';
import type { FaultEndpoint } from '../../src/clients/wire.js';
import { loadConfig } from '../../src/config.js';
import { fx } from '../../src/copytrade/domain/fixed.js';
import type { FollowSettings } from '../../src/copytrade/domain/settings.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { signalKeyOf } from '../../src/copytrade/fanout/fanout.js';
import type { Pool } from '../../src/infra/mysql/client.js';
import {
  cycleSignalOf,
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { freePort } from '../../test/support/harness.js';
import { planFaults, runPlan } from './faults.js';
import { freshResult, type RunResult } from './result.js';
import { Rng } from './rng.js';
import type { OwnMariaDb, OwnRedis } from './services.js';
import { HTTP_TIMEOUT_MS, openWorld, poll, TTL_MS } from './world.js';

const ENGINES = 2;
const COPIERS = 250;
/** open 2, close 1 of 2, close 1 of 1 */
const CYCLES = 8;
const LEAD = 'chaos-lead';
/** how long one signal may take to be accepted (through role changes) and to be fanned out */
const ACCEPT_MS = 30_000;
const FANOUT_MS = 20_000;
/** after the last signal and fault, for what is still in flight */
const SETTLE_MS = 45_000;
const ENDPOINTS: FaultEndpoint[] = ['exchange/order', 'exchange/orders'];

export async function copyRun(
  services: { redis: OwnRedis; mysql: OwnMariaDb },
  run: number,
  seed: number,
  logRoot: string,
): Promise<RunResult> {
  const started = Date.now();
  const rng = new Rng(seed);
  const copiers = Array.from({ length: COPIERS }, (_, i) => copierOf(i, rng));
  // the 24 signals take some 10 s without faults
  const plan = planFaults(rng, 15_000);
  const result = freshResult('copy', run, seed);
  const ingressPort = await freePort();
  const world = await openWorld(services, 'copy', logRoot, `copy-${seed}`, {
    TF_SOURCE: 'none',
    TF_COPY_INGRESS_PORT: String(ingressPort),
    TF_COPY_API_PORT: String(await freePort()),
    TF_COPY_BATCH_SIZE: '100',
  });
  const exchange = createExchangeClient(world.simUrl, { connections: 16, timeoutMs: 10_000 });
  let failed = true;
  let socket: TraderSocket | null = null;
  try {
    // the engines start after this and load the whole book: nobody to tell of a change yet
    // the engines inherit this process's environment, TF_SECRET_KEY with it
    const rows = { db: world.engineDb, publish: async () => undefined, secretKey: loadConfig().secretKey };
    const lead = await seedTrader(rows, exchange, LEAD, { maxCopiers: COPIERS });
    await seedCopiers(rows, exchange, copiers);
    world.fleet.startEngines(ENGINES);
    const open = () => openWithin(3000, () => TraderSocket.open(ingressPort, lead.apiKey, lead.secret));
    socket = (await poll(open, 30_000)) ?? null;
    if (!socket) throw new Error('no copy engine accepted the trader within 30 s');

    // 1. the signals, one after the other, and the faults at once
    const targets = {
      fleet: world.fleet,
      redis: services.redis,
      mysql: services.mysql,
      sim: world.sim,
      engineDb: world.engineDb,
      role: 'copy-fanout',
      ttlMs: TTL_MS,
      httpTimeoutMs: HTTP_TIMEOUT_MS,
      endpoints: ENDPOINTS,
    };
    const accepted: string[] = [];
    const sending = (async () => {
      for (let i = 0; i < CYCLES * 3; i++) {
        const price = await poll(
          async () => (await exchange.price(INSTRUMENT as InstrumentId)).price,
          10_000,
        );
        const signal = cycleSignalOf(LEAD, `${seed}-${i}`, i % 3, price ?? '60000');
        const sent = await sendUntilAccepted(
          signal,
          () => socket,
          open,
          (s) => {
            socket = s;
          },
        );
        if (!sent) {
          result.notAccepted++;
          result.notes.push(`signal ${signal.signalId} not accepted within ${ACCEPT_MS / 1000} s`);
          continue;
        }
        const key = signalKeyOf(LEAD, signal.signalId);
        accepted.push(key);
        await poll(async () => (await fannedOut(world.engineDb, key)) || undefined, FANOUT_MS, 50);
      }
    })();
    const [, counts] = await Promise.all([sending, runPlan(plan, rng, targets, result.faultLog)]);
    result.faults = counts;
    result.signals = accepted.length;

    // 2. a bounded wait for every accepted signal to be fanned out
    await poll(async () => {
      for (const k of accepted) if (!(await fannedOut(world.engineDb, k))) return undefined;
      return true;
    }, SETTLE_MS);

    // 3. the checks
    const check = await checkSignals(world.engineDb, accepted, COPIERS);
    result.lost = check.missing;
    result.doubled = check.both;
    result.notes.push(...check.notes);
    result.orders = check.orders;
    result.signalsNotDone = check.notDone;
    const ledger = await exchange.ledger();
    result.doubled += ledger.duplicatedClientOrderIds;
    result.ledgerOk = ledger.conserved;
    if (!ledger.conserved) result.notes.push(`exchange ledger: ${ledger.problems.slice(0, 3).join('; ')}`);
    if (ledger.duplicatedClientOrderIds) {
      result.notes.push(`${ledger.duplicatedClientOrderIds} client order ids applied twice on the exchange`);
    }
    if (ledger.ordersApplied !== check.filled) {
      result.notes.push(`exchange applied ${ledger.ordersApplied} orders, MySQL has ${check.filled} FILLED`);
    }
    const drift = await positionsVsSlices(world.engineDb, exchange, copiers);
    result.positionsMatchSlices = drift.length === 0;
    if (drift.length)
      result.notes.push(
        `${drift.length} copiers' positions differ from slices: ${drift.slice(0, 3).join('; ')}`,
      );
    result.notes.push(...world.fleet.unexpectedExits.map((e) => `(exit) ${e}`));
    failed = false;
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    socket?.close();
    await exchange.close();
    result.seconds = Math.round((Date.now() - started) / 1000);
    const keep =
      failed ||
      result.lost > 0 ||
      result.doubled > 0 ||
      !result.ledgerOk ||
      result.positionsMatchSlices === false;
    await world.close(keep);
    if (keep) result.notes.push(`logs in ${world.logDir}`);
  }
  return result;

  /**
   * Sends `signal` until an engine acknowledges it (new or duplicate); a broken socket, an
   * error frame or no answer in 3 s opens a new socket (to the new holder) and sends again.
   */
  async function sendUntilAccepted(
    signal: TraderSignal,
    current: () => TraderSocket | null,
    open: () => Promise<TraderSocket>,
    replace: (s: TraderSocket) => void,
  ): Promise<boolean> {
    const deadline = Date.now() + ACCEPT_MS;
    while (Date.now() < deadline) {
      let s = current();
      if (!s) {
        s = await open().catch(() => null);
        if (!s) {
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        replace(s);
      }
      const answer = await Promise.race([
        s.send(signal),
        new Promise<null>((r) => setTimeout(() => r(null), 3000)),
      ]).catch(() => null);
      if (answer?.type === 'ack') return true;
      if (answer) result.notes.push(`signal ${signal.signalId} answered ${JSON.stringify(answer)}`);
      s.close();
      const fresh = await open().catch(() => null);
      if (fresh) replace(fresh);
      else await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }
}

/**
 * A socket opened within `ms`, or a rejection: a paused holder still has its port, and the
 * kernel accepts the connection that nobody then answers. A socket opened too late is closed.
 */
function openWithin(ms: number, open: () => Promise<TraderSocket>): Promise<TraderSocket> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new Error(`the trader socket did not open within ${ms} ms`));
    }, ms);
    open().then(
      (s) => {
        clearTimeout(timer);
        if (late) s.close();
        else resolve(s);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Copier i, from the run's seed: mostly copying; 5% paused, 5% with too little money (both must be skipped). */
function copierOf(i: number, rng: Rng): { follow: FollowSettings; usdt: string } {
  const id = `cc${String(i).padStart(3, '0')}`;
  const base: Partial<FollowSettings> = {
    sizing:
      rng.next() < 0.4
        ? { mode: 'fixed-ratio', ratio: rng.pick(['0.1', '0.25', '0.5']) }
        : { mode: 'fixed-amount', margin: rng.pick(['20', '50', '100']) },
    positionMode: rng.next() < 0.3 ? 'hedge' : 'one-way',
  };
  const kind = rng.next();
  if (kind < 0.05) return { follow: follow(id, LEAD, { ...base, status: 'paused' }), usdt: '10000' };
  if (kind < 0.1) return { follow: follow(id, LEAD, base), usdt: '5' };
  return { follow: follow(id, LEAD, base), usdt: '10000' };
}

/** Per accepted signal: fanned out, and each copier has exactly one order or one skip. */
async function checkSignals(db: Pool, keys: string[], copiers: number) {
  const notes: string[] = [];
  let missing = 0;
  let both = 0;
  let orders = 0;
  let filled = 0;
  let notDone = 0;
  for (const key of keys) {
    if (!(await fannedOut(db, key))) {
      notDone++;
      notes.push(`signal ${key} never recorded done`);
    }
    const [o] = await db.query<RowDataPacket[]>(
      'SELECT copier_id, status FROM copy_order WHERE signal_key=?',
      [key],
    );
    const [s] = await db.query<RowDataPacket[]>('SELECT copier_id FROM copy_skip WHERE signal_key=?', [key]);
    orders += o.length;
    filled += o.filter((r) => r.status === 'FILLED').length;
    const ordered = new Set(o.map((r) => String(r.copier_id)));
    const twice = s.filter((r) => ordered.has(String(r.copier_id))).length;
    const covered = new Set([...ordered, ...s.map((r) => String(r.copier_id))]).size;
    if (covered < copiers) {
      missing += copiers - covered;
      notes.push(`signal ${key}: ${copiers - covered} copiers neither copied nor skipped`);
    }
    if (twice) {
      both += twice;
      notes.push(`signal ${key}: ${twice} copiers both copied and skipped`);
    }
  }
  return { missing, both, orders, filled, notDone, notes };
}

/** Copiers whose exchange position on a side is not the sum of their slices on it. */
async function positionsVsSlices(
  db: Pool,
  exchange: ExchangeClient,
  copiers: { follow: FollowSettings }[],
): Promise<string[]> {
  const [slices] = await db.query<RowDataPacket[]>(
    'SELECT copier_id, instrument, side, qty FROM copy_slice WHERE qty <> 0',
  );
  const want = new Map<string, bigint>();
  for (const s of slices) {
    const k = `${s.copier_id}|${s.instrument}|${s.side}`;
    want.set(k, (want.get(k) ?? 0n) + fx(String(s.qty)));
  }
  const drift: string[] = [];
  for (const c of copiers) {
    const id = c.follow.copierId;
    const { positions } = await exchange.positions(id);
    const have = new Map(positions.map((p) => [`${id}|${p.instrument}|${p.side}`, fx(p.qty)]));
    const keys = new Set([...have.keys(), ...[...want.keys()].filter((k) => k.startsWith(`${id}|`))]);
    for (const k of keys) {
      const h = have.get(k) ?? 0n;
      const w = want.get(k) ?? 0n;
      if (h !== w) drift.push(`${k} exchange ${p(h)} slices ${p(w)}`);
    }
  }
  return drift;
}

const p = (v: bigint) => v.toString();
