/**
 * npm run chaos [-- --engine settlement|copy|both] [--runs N] [--seed S] [--json]
 *
 * A fault campaign. It starts its own Redis and MariaDB (spare ports, a temporary data
 * directory), then runs N runs per engine (default 20). Each run starts the simulator and
 * the engine's processes as children, loads orders or signals, and meanwhile injects, at
 * moments drawn from the run's seed: kill -9 of an engine process (the role holder or not;
 * it is restarted, as a supervisor would), SIGSTOP past the lock TTL then SIGCONT, a Redis
 * kill -9 and restart or FLUSHALL, a MariaDB restart (SIGKILL or SIGTERM), and windows of
 * 20% downstream faults with held timeouts. Then it checks from the simulators' ledgers and
 * MySQL that nothing was lost or done twice and that money was conserved (scripts/chaos/).
 * Run r is seeded S + r and prints its seed: `--seed X --runs 1` replays it (the simulators'
 * own fault draws are not seeded). Exits 1 when a run lost or doubled anything, a ledger is
 * wrong or a run could not be carried out. Logs of failed runs are kept under .chaos/.
 */
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { copyRun } from './chaos/copy-run.js';
import { killEveryFleet } from './chaos/fleet.js';
import { runLine, table, totals } from './chaos/report.js';
import { type EngineKind, freshResult, type RunResult, runOk } from './chaos/result.js';
import { runSeed } from './chaos/rng.js';
import { OwnMariaDb, OwnRedis } from './chaos/services.js';
import { settlementRun } from './chaos/settlement-run.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'both' },
    runs: { type: 'string', default: '20' },
    seed: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npm run chaos [-- --engine settlement|copy|both] [--runs N] [--seed S] [--json]\n' +
      '  N runs per engine (20) with kill -9, SIGSTOP, Redis and MariaDB restarts and downstream faults;\n' +
      '  run r is seeded S + r (S random unless given); --json: one JSON object as the last line\n',
  );
  process.exit(0);
}
const ENGINES: EngineKind[] =
  values.engine === 'both' ? ['settlement', 'copy'] : ([values.engine] as EngineKind[]);
const RUNS = Number(values.runs);
const SEED = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
if (!ENGINES.every((e) => e === 'settlement' || e === 'copy')) {
  process.stderr.write('--engine: expected settlement, copy or both\n');
  process.exit(2);
}
if (!(Number.isInteger(RUNS) && RUNS > 0 && Number.isInteger(SEED) && SEED >= 0)) {
  process.stderr.write('--runs: expected a positive integer; --seed: a non-negative integer\n');
  process.exit(2);
}
/** one run's own bound: set-up, load, faults, settle wait and checks */
const RUN_LIMIT_MS = 240_000;
const LOG_ROOT = '.chaos';
// progress on stderr, so --json's last stdout line is the object
const say = (s: string) => process.stderr.write(`${s}\n`);

async function main(): Promise<number> {
  await mkdir(LOG_ROOT, { recursive: true });
  say(`chaos: ${RUNS} runs per engine (${ENGINES.join(', ')}), seed ${SEED}`);
  const redis = await OwnRedis.start();
  let mysql: OwnMariaDb | null = null;
  const stopAll = async () => {
    await redis.stop();
    await mysql?.stop();
  };
  // however the campaign ends, no engine or simulator outlives it
  process.once('exit', killEveryFleet);
  process.once('SIGINT', () => {
    say('interrupted; stopping the engines, the campaign Redis and MariaDB');
    killEveryFleet();
    stopAll().finally(() => process.exit(130));
  });
  const results: RunResult[] = [];
  try {
    mysql = await OwnMariaDb.start();
    say(`own Redis ${redis.url}, own MariaDB ${mysql.url}`);
    const services = { redis, mysql };
    for (const engine of ENGINES) {
      for (let run = 0; run < RUNS; run++) {
        const seed = runSeed(SEED, run);
        const r = await bounded(
          engine === 'settlement'
            ? settlementRun(services, run, seed, LOG_ROOT)
            : copyRun(services, run, seed, LOG_ROOT),
          engine,
          run,
          seed,
        );
        results.push(r);
        say(runLine(r));
      }
    }
  } finally {
    await stopAll();
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`\nchaos campaign, seed ${SEED}, ${RUNS} runs per engine\n`);
  out(table(results, ENGINES));
  const ok = results.every(runOk);
  if (values.json) {
    const t = totals(results);
    out(
      JSON.stringify({
        runs: t.runs,
        seed: SEED,
        faults: t.faults,
        orders: t.orders,
        signals: t.signals,
        lost: t.lost,
        doubled: t.doubled,
        ledgerOk: t.ledgerOk,
        positionsMatchSlices: t.positionsMatchSlices,
        failedRuns: t.failedRuns,
        perEngine: Object.fromEntries(ENGINES.map((e) => [e, totals(results.filter((r) => r.engine === e))])),
      }),
    );
  } else {
    out(
      ok
        ? '\nOK: nothing lost, nothing doubled, ledgers conserved'
        : '\nFAILED: see the runs marked FAIL above',
    );
  }
  return ok ? 0 : 1;
}

/** A run that overruns its bound is reported as failed; the campaign goes on with the next. */
async function bounded(
  p: Promise<RunResult>,
  engine: EngineKind,
  run: number,
  seed: number,
): Promise<RunResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<RunResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ...freshResult(engine, run, seed),
          seconds: RUN_LIMIT_MS / 1000,
          error: `the run did not end within ${RUN_LIMIT_MS / 1000} s`,
        }),
      RUN_LIMIT_MS,
    );
  });
  const r = await Promise.race([p, late]);
  clearTimeout(timer);
  return r;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
