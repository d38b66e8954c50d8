/**
 * The faults of one run, drawn from its seed before it starts: which kinds, at which moment
 * after the load began, against which process. Injected on timers while the load runs;
 * several may overlap, as outages do.
 */
import type { FaultSettings, SimAdmin } from '../../src/clients/sim-admin.js';
import type { FaultEndpoint } from '../../src/clients/wire.js';
import type { Pool } from '../../src/infra/mysql/client.js';
import type { Fleet } from './fleet.js';
import { Rng } from './rng.js';
import type { OwnMariaDb, OwnRedis } from './services.js';

export const FAULT_KINDS = ['kill9', 'sigstop', 'redisRestart', 'mysqlRestart', 'downstreamFaults'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultCounts = Record<FaultKind, number>;

export const noFaults = (): FaultCounts => ({
  kill9: 0,
  sigstop: 0,
  redisRestart: 0,
  mysqlRestart: 0,
  downstreamFaults: 0,
});

export interface PlannedFault {
  kind: FaultKind;
  atMs: number;
}

/** 1 to 4 faults in [1 s, windowMs]; every kind equally likely. */
export function planFaults(rng: Rng, windowMs: number): PlannedFault[] {
  const n = rng.int(1, 4);
  const plan = Array.from({ length: n }, () => ({
    kind: rng.pick(FAULT_KINDS),
    atMs: rng.int(1000, windowMs),
  }));
  return plan.sort((a, b) => a.atMs - b.atMs);
}

export interface Targets {
  fleet: Fleet;
  redis: OwnRedis;
  mysql: OwnMariaDb;
  sim: SimAdmin;
  engineDb: Pool;
  /** the fencing table's name of the role whose holder may be picked */
  role: string;
  ttlMs: number;
  httpTimeoutMs: number;
  endpoints: FaultEndpoint[];
}

/**
 * 20% of calls fail: 10% 5xx, 4% 429, 5% a timeout held past the client's, 1% a
 * non-retryable reject (an order parked MANUAL with its code, a copy order REJECTED).
 */
export function downstreamFaults(endpoints: FaultEndpoint[], httpTimeoutMs: number): FaultSettings {
  const rule = {
    errorRate: 0.1,
    rateLimitRate: 0.04,
    timeoutRate: 0.05,
    timeoutHoldMs: httpTimeoutMs + 500,
    rejectRate: 0.01,
    jitterMs: 5,
  };
  return Object.fromEntries(endpoints.map((e) => [e, rule]));
}

/** downstream-fault windows open per simulator */
const openWindows = new WeakMap<SimAdmin, number>();

/** Injects one fault; resolves once it is over (the process resumed, the server back), with what was done. */
export async function inject(kind: FaultKind, rng: Rng, t: Targets): Promise<string> {
  switch (kind) {
    case 'kill9': {
      const v = await t.fleet.victim(rng, t.engineDb, t.role);
      if (!v) return 'kill9: no engine running';
      t.fleet.kill9(v.proc);
      return `kill9 ${v.proc.name}${v.holds ? ' (holder)' : ''}`;
    }
    case 'sigstop': {
      const v = await t.fleet.victim(rng, t.engineDb, t.role);
      if (!v) return 'sigstop: no engine running';
      // half just past the lock's TTL; half also past the claim and redrive idle times, so
      // the others take over its work too while it is still in the middle of it
      const ms = rng.next() < 0.5 ? t.ttlMs + rng.int(300, 1500) : rng.int(4000, 9000);
      await t.fleet.pause(v.proc, ms);
      return `sigstop ${v.proc.name}${v.holds ? ' (holder)' : ''} ${ms} ms`;
    }
    case 'redisRestart': {
      if (rng.next() < 0.5) {
        await t.redis.flushAll();
        return 'redis FLUSHALL';
      }
      const ms = rng.int(200, 2000);
      await t.redis.restart(ms);
      return `redis kill -9, down ${ms} ms`;
    }
    case 'mysqlRestart': {
      const how = rng.next() < 0.5 ? 'SIGKILL' : 'SIGTERM';
      const ms = rng.int(300, 2500);
      await t.mysql.restart(how, ms);
      return `mariadb ${how}, down ${ms} ms`;
    }
    case 'downstreamFaults': {
      const ms = rng.int(3000, 8000);
      const windows = (openWindows.get(t.sim) ?? 0) + 1;
      openWindows.set(t.sim, windows);
      await t.sim.setFaults(downstreamFaults(t.endpoints, t.httpTimeoutMs));
      await new Promise((r) => setTimeout(r, ms));
      const left = (openWindows.get(t.sim) ?? 1) - 1;
      openWindows.set(t.sim, left);
      // overlapping windows: the last to close turns the faults off
      if (left === 0) await t.sim.setFaults({});
      return `20% downstream faults for ${ms} ms`;
    }
  }
}

/**
 * Runs the plan from now: each fault at its moment. Resolves when all are over; a fault
 * that could not be injected is reported as such, never thrown.
 */
export async function runPlan(
  plan: PlannedFault[],
  rng: Rng,
  t: Targets,
  log: string[],
): Promise<FaultCounts> {
  const counts = noFaults();
  const start = Date.now();
  // draws in plan order, so the victims repeat with the seed whatever the timing
  const seeds = plan.map(() => rng.int(1, 2 ** 30));
  await Promise.all(
    plan.map(async (f, i) => {
      await new Promise((r) => setTimeout(r, Math.max(0, f.atMs - (Date.now() - start))));
      try {
        const what = await inject(f.kind, new Rng(seeds[i] as number), t);
        counts[f.kind]++;
        log[i] = `${(f.atMs / 1000).toFixed(1)}s ${what}`;
      } catch (err) {
        log[i] = `${(f.atMs / 1000).toFixed(1)}s ${f.kind} FAILED to inject: ${(err as Error).message}`;
      }
    }),
  );
  return counts;
}
