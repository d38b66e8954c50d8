/**
 * bench:settle's Kafka side: the CDC chain (binlog MariaDB → Canal → Kafka) started once per
 * benchmark in a process of its own (cdc-chain-proc.ts), and a fresh start for each run on it.
 *
 * Why a fresh consumer group at the topic's end and a truncated counter table, and not a new
 * topic or a new chain per run: Canal's topic is fixed when it starts (canal.mq.topic), and a
 * chain takes ~15 s to start and its JVMs start cold, which the first seconds of a run would
 * measure. One chain and one topic then; per run:
 * - TRUNCATE the counter's sync_order: the reconciler of a fresh Redis prefix has no
 *   watermark and lists the last two windows of the counter table, so rows of earlier runs
 *   would become this run's (late) orders. The TRUNCATE goes down the binlog as a DDL
 *   message, which the engine ignores anyway.
 * - wait until the topic's end offsets stand still (Canal has sent what an overloaded earlier
 *   run left in the binlog, and the TRUNCATE), then give a new group (TF_KAFKA_GROUP) offsets
 *   at the end: the engine subscribes fromBeginning, which only applies to a group without
 *   committed offsets, so a new group without them would read every earlier run's messages.
 * What still slips through (a message Canal sends after the offsets were set) is an order of
 * another run: bench-settle counts those as `stray`, apart from the run's orders.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { stableGroupMembers } from '../../src/infra/kafka.js';

export interface ChainPids {
  kafka: number | null;
  canal: number | null;
  counterdb: number | null;
}

export interface BenchChain {
  /** TF_COUNTER_MYSQL_URL, TF_COUNTER_DB, TF_KAFKA_BROKERS, TF_KAFKA_TOPIC, TF_CDC_FORMAT */
  env: Record<string, string>;
  /** the counter MariaDB (binlog), no database part */
  counterUrl: string;
  counterDb: string;
  topic: string;
  pids: ChainPids;
  stop(): Promise<void>;
}

/** the helper's source: run through tsx from the repository root, whichever build imports this */
const HELPER = 'scripts/bench/cdc-chain-proc.ts';
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 90_000;

/** Starts the chain's process and waits for its ready line; a failed start leaves nothing running. */
export async function startBenchChain(): Promise<BenchChain> {
  const cwd = repoRoot(fileURLToPath(new URL('.', import.meta.url)));
  const proc = spawn(process.execPath, ['--import', 'tsx', HELPER], {
    cwd,
    // stdin is the helper's lifeline: it stops the chain when the pipe ends
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = () => stopHelper(proc, exited);
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`cdc chain not up within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      const lines = createInterface({ input: proc.stdout });
      lines.once('line', (l) => {
        clearTimeout(timer);
        resolve(l);
      });
      proc.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`cdc chain process exited (${code ?? sig}) before it was up`));
      });
    });
    const ready = JSON.parse(line) as Omit<BenchChain, 'stop' | 'counterDb'>;
    return { ...ready, counterDb: ready.env.TF_COUNTER_DB ?? 'tradeflow_counter', stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The directory above scripts/ (this file is in scripts/bench/ or dist-bench/scripts/bench/). */
function repoRoot(dir: string): string {
  const parts = dir.replace(/\/$/, '').split('/');
  const i = parts.lastIndexOf('scripts');
  const up = parts.slice(0, i);
  return up[up.length - 1] === 'dist-bench' ? up.slice(0, -1).join('/') : up.join('/');
}

async function stopHelper(proc: ChildProcess, exited: Promise<void>): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  proc.stdin?.end();
  const t = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(t);
}

const kafkaOf = (chain: BenchChain) =>
  new Kafka({
    clientId: 'bench-settle',
    brokers: (chain.env.TF_KAFKA_BROKERS ?? '').split(','),
    logLevel: logLevel.NOTHING,
  });

const QUIET_MS = 2_000;
const QUIET_TIMEOUT_MS = 120_000;

/**
 * Readies the chain for a run of consumer group `group` (see the header): empties the counter
 * table, waits for the topic to stand still, and commits the group's offsets at its end.
 * Returns how many messages the topic held then.
 */
export async function freshKafkaRun(chain: BenchChain, group: string): Promise<number> {
  const c = await mysql.createConnection(`${chain.counterUrl}/${chain.counterDb}`);
  try {
    await c.query('TRUNCATE TABLE sync_order');
  } finally {
    await c.end();
  }
  const admin = kafkaOf(chain).admin();
  await admin.connect();
  try {
    const ends = async () => {
      const o = await admin.fetchTopicOffsets(chain.topic);
      return o.map((p) => ({ partition: p.partition, offset: p.high }));
    };
    const total = (o: { offset: string }[]) => o.reduce((a, p) => a + Number(p.offset), 0);
    const deadline = Date.now() + QUIET_TIMEOUT_MS;
    let last = total(await ends());
    let still = Date.now();
    while (Date.now() - still < QUIET_MS) {
      if (Date.now() > deadline)
        throw new Error(`topic ${chain.topic} still growing after ${QUIET_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 250));
      const now = total(await ends());
      if (now !== last) {
        last = now;
        still = Date.now();
      }
    }
    const at = await ends();
    await admin.setOffsets({ groupId: group, topic: chain.topic, partitions: at });
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [chain.topic] });
    const want = new Map(at.map((p) => [p.partition, p.offset]));
    const wrong = (committed?.partitions ?? []).filter((p) => want.get(p.partition) !== p.offset);
    if (!committed || committed.partitions.length !== at.length || wrong.length > 0)
      throw new Error(
        `group ${group}: offsets not committed at the topic's end (${JSON.stringify(committed)})`,
      );
    return total(at);
  } finally {
    await admin.disconnect();
  }
}

/** Waits until `group` is Stable with `members` members (the engines joined, partitions assigned). */
export async function waitJoined(
  chain: BenchChain,
  group: string,
  members: number,
  ms = 60_000,
): Promise<void> {
  const admin = kafkaOf(chain).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + ms;
    for (;;) {
      const stable = await stableGroupMembers(admin, group);
      if (stable >= members) return;
      if (Date.now() > deadline)
        throw new Error(`group ${group}: not stable with ${members} member(s) after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
}
