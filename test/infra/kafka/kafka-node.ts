import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../../support/harness.js';
import { signalGroup } from '../mariadb/binlog-mariadb.js';

const script = fileURLToPath(new URL('../../../scripts/kafka.sh', import.meta.url));
const LOG_KEEP = 64 * 1024;

export interface KafkaNodeOptions {
  /** client port; a free one when not given */
  port?: number;
  /** the port clients are told to use after their first contact (a proxy's), else `port` */
  advertisedPort?: number;
  /** partitions of an auto-created topic (16) */
  partitions?: number;
  /** how long the JVM may take to answer a metadata request (60 s) */
  readyTimeoutMs?: number;
}

/** One running Kafka node (scripts/kafka.sh) that keeps its data directory across restarts. */
export interface KafkaNode {
  readonly brokers: string[];
  /** what the node printed lately, for a failure's message */
  log(): string;
  /** SIGKILL the JVM (and its script), keeping the data directory */
  kill(): Promise<void>;
  /** start it again on the same ports and data, ready when a metadata request answers */
  restart(): Promise<void>;
  /** stop it cleanly and remove its data */
  stop(): Promise<void>;
}

/**
 * Starts a KRaft node on loopback and waits until it answers a metadata request. A node
 * that does not come up in time is stopped and its log is in the error; the node stops by
 * itself when this process ends (KAFKA_WATCH_PID), so a killed test leaves no JVM behind.
 */
export async function startKafkaNode(opts: KafkaNodeOptions = {}): Promise<KafkaNode> {
  const port = opts.port ?? (await freePort());
  const controller = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'tradeflow-kafka-'));
  const brokers = [`127.0.0.1:${port}`];
  let out = '';
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = () => {
    const c = spawn('bash', [script], {
      env: {
        ...process.env,
        KAFKA_PORT: String(port),
        KAFKA_CONTROLLER_PORT: String(controller),
        KAFKA_ADVERTISED_PORT: String(opts.advertisedPort ?? port),
        KAFKA_DATA_DIR: dataDir,
        KAFKA_PARTITIONS: String(opts.partitions ?? 16),
        KAFKA_WATCH_PID: String(process.pid),
      },
      // its own process group: kill() takes the script and the JVM together
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      out = (out + b.toString('utf8')).slice(-LOG_KEEP);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    exited = new Promise((r) => c.once('exit', () => r()));
    child = c;
  };

  const signal = async (sig: NodeJS.Signals) => {
    const c = child;
    if (c?.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
    signalGroup(c.pid, sig);
    await exited;
  };

  const ready = async () => {
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    const admin = new Kafka({
      clientId: 'kafka-node-probe',
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    try {
      for (;;) {
        const c = child;
        if (c === null || c.exitCode !== null || c.signalCode !== null) {
          throw new Error(`kafka node exited before it was ready:\n${out.slice(-4000)}`);
        }
        try {
          await admin.connect();
          await admin.describeCluster();
          return;
        } catch {
          await admin.disconnect().catch(() => undefined);
        }
        if (Date.now() > deadline)
          throw new Error(
            `kafka node not ready within ${opts.readyTimeoutMs ?? 60_000} ms:\n${out.slice(-4000)}`,
          );
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };

  const up = async () => {
    launch();
    try {
      await ready();
    } catch (err) {
      await signal('SIGKILL');
      throw err;
    }
  };

  try {
    await up();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    brokers,
    log: () => out,
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal('SIGTERM');
      await up();
    },
    async stop() {
      await signal('SIGTERM');
      // the script has waited for its JVM; a KILL of the group ends anything it left, and the
      // removal retries (ENOTEMPTY) should a last file still appear while it runs
      if (child?.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}
