/**
 * The pieces every benchmark-like script shares: its own databases and Redis prefix, the
 * simulator and engine as child processes, and removing it all afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import mysql from 'mysql2/promise';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { migrateDatabase } from '../../src/infra/mysql/migrate.js';

export const MYSQL_URL = process.env.TF_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.TF_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The settings of a run's own world: its Redis prefix, and every simulated service (counter,
 * funding, trade, exchange) on the one simulator port; quiet logs, no ops port.
 */
export function runEnv(prefix: string, simPort: number): Record<string, string> {
  const sim = `http://127.0.0.1:${simPort}`;
  return {
    TF_MYSQL_URL: MYSQL_URL,
    TF_REDIS_URL: REDIS_URL,
    TF_REDIS_PREFIX: prefix,
    TF_SIM_PORT: String(simPort),
    TF_COUNTER_URL: sim,
    TF_FUNDING_URL: sim,
    TF_TRADE_URL: sim,
    TF_EXCHANGE_URL: sim,
    TF_LOG_LEVEL: 'warn',
    TF_OPS_PORT: '0',
  };
}

/** The engine and simulator run compiled (dist/, built first), as in production; anything else through tsx. */
export function child(args: string[], env: Record<string, string>): ChildProcess {
  const argv = args[0]?.startsWith('dist/') ? args : ['--import', 'tsx', ...args];
  return spawn(process.execPath, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** SIGTERM, then SIGKILL if the process has not exited after 15 s. */
export async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

/** Waits up to ~10 s for the simulator to answer. */
export async function waitForSim(admin: SimAdmin): Promise<void> {
  for (let i = 0; ; i++) {
    if (
      await admin.getFaults().then(
        () => true,
        () => false,
      )
    )
      return;
    if (i > 100) throw new Error('simulator did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Drops and migrates the two databases, so a run never starts on a previous run's rows. */
export async function freshDatabases(mysqlUrl: string, engineDb: string, counterDb: string): Promise<void> {
  await dropDatabases(mysqlUrl, engineDb, counterDb);
  await migrateDatabase(mysqlUrl, engineDb, 'engine');
  await migrateDatabase(mysqlUrl, counterDb, 'counter');
}

export async function dropDatabases(mysqlUrl: string, ...names: string[]): Promise<void> {
  const admin = await mysql.createConnection(mysqlUrl);
  try {
    for (const n of names) await admin.query(`DROP DATABASE IF EXISTS \`${n}\``);
  } finally {
    await admin.end();
  }
}
