import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './harness.js';

/**
 * A Redis Cluster of `masters` masters and no replicas, from Debian's redis-server with
 * `--cluster-enabled yes`, joined by `redis-cli --cluster create`, nothing kept on disk but
 * the nodes' own cluster files in a temporary directory. `url` is how tradeflow names it
 * (TF_REDIS_URL). stop() ends the servers and removes the directory, whatever start got to.
 */
export class RedisCluster {
  private readonly servers: ChildProcess[] = [];
  private dir: string | undefined;
  ports: number[] = [];

  get url(): string {
    return `redis-cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  async start(masters = 3): Promise<this> {
    this.dir = mkdtempSync(join(tmpdir(), 'tf-cluster-'));
    for (let i = 0; i < masters; i++) this.ports.push(await clusterPort(this.ports));
    for (const port of this.ports) {
      const server = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(this.dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
          '--dir',
          this.dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: 'ignore' },
      );
      this.servers.push(server);
    }
    for (const port of this.ports)
      await waitFor(`redis-server on ${port}`, async () => cli(port, 'PING') === 'PONG', 10_000);
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...this.ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    // every node must know every slot's master before a client is pointed at it
    for (const port of this.ports) {
      await waitFor(
        `cluster state ok on ${port}`,
        async () => /cluster_state:ok/.test(cli(port, 'CLUSTER', 'INFO')),
        20_000,
      );
    }
    return this;
  }

  async stop(): Promise<void> {
    const exits = this.servers.map(
      (s) => new Promise((resolve) => (s.exitCode !== null ? resolve(null) : s.once('exit', resolve))),
    );
    for (const s of this.servers) s.kill('SIGKILL');
    await Promise.all(exits);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The port of the master that holds `key`'s slot (CLUSTER KEYSLOT, then the slot ranges of CLUSTER NODES). */
export function masterOf(cluster: RedisCluster, key: string): number {
  const port = cluster.ports[0] as number;
  const slot = Number(cli(port, 'CLUSTER', 'KEYSLOT', key));
  for (const line of cli(port, 'CLUSTER', 'NODES').split('\n')) {
    const f = line.trim().split(' ');
    if (!f[2]?.includes('master')) continue;
    for (const range of f.slice(8)) {
      const [lo, hi = lo] = range.split('-').map(Number);
      if (lo !== undefined && hi !== undefined && slot >= lo && slot <= hi) {
        return Number((f[1] as string).split('@')[0]?.split(':')[1]);
      }
    }
  }
  throw new Error(`no master holds slot ${slot}`);
}

/** Whether the node on `port` answers that it holds `key` (EXISTS there, no redirection). */
export const nodeHolds = (port: number, key: string): boolean => cli(port, 'EXISTS', key) === '1';

function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5_000 });
  return (r.stdout ?? '').trim();
}

/** A free port whose cluster bus port (port + 10000) is free too and below 65536. */
async function clusterPort(taken: readonly number[]): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 > 65_535 || taken.includes(port)) continue;
    if (await isFree(port + 10_000)) return port;
  }
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
