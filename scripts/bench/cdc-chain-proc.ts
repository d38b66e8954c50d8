/**
 * The CDC chain (test/infra/cdc-chain.ts: Kafka node, binlog MariaDB, Canal) in a process of
 * its own, for bench:settle --source kafka. Run with tsx: test/infra finds its jars, scripts
 * and SQL relative to its own .ts files, which the benchmark's compiled build (dist-bench/)
 * would move; and the chain's log traffic stays out of the real-time generator's event loop.
 *
 * Protocol: once the chain is up it prints one JSON line to stdout, { env, counterUrl, topic,
 * pids: { kafka, canal, counterdb } } (the JVMs and the counter's mariadbd, found among its
 * descendants); on a failed start it exits 1 and says why on stderr. It stops the chain and
 * exits on SIGTERM, SIGINT, or when its stdin ends (the benchmark gone, even by kill -9); the
 * chain's own guards end its servers should this process die first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { type CdcChain, startCdcChain } from '../../test/infra/cdc-chain.js';

/** pid → parent pid of every process now */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // field 4 (ppid), counted after the command name's last ')'
      const ppid = Number(
        stat
          .slice(stat.lastIndexOf(')') + 1)
          .trim()
          .split(/\s+/)[1],
      );
      out.set(Number(d), ppid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The descendant of this process whose command line matches, null if none. */
function descendant(match: (cmdline: string, comm: string) => boolean): number | null {
  const pp = parents();
  const ours = (pid: number): boolean => {
    for (let p = pp.get(pid); p !== undefined && p > 1; p = pp.get(p)) if (p === process.pid) return true;
    return false;
  };
  for (const pid of pp.keys()) {
    if (!ours(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (match(cmdline, comm)) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

let chain: CdcChain | undefined;
let stopping: Promise<void> | undefined;
const stop = (code: number) => {
  stopping ??= (async () => {
    await chain?.stop().catch((err) => process.stderr.write(`cdc chain: stop failed: ${err}\n`));
    process.exit(code);
  })();
  return stopping;
};
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));
process.stdin.resume();

try {
  chain = await startCdcChain({ topic: 'counter.sync_order', partitions: 16 });
  if (stopping) await stopping;
  const pids = {
    kafka: descendant((c, comm) => comm === 'java' && c.includes('kafka.Kafka ')),
    canal: descendant((c, comm) => comm === 'java' && c.includes('CanalLauncher')),
    counterdb: descendant((_, comm) => comm === 'mariadbd'),
  };
  process.stdout.write(
    `${JSON.stringify({ env: chain.env, counterUrl: chain.counter.url, topic: chain.topic, pids })}\n`,
  );
} catch (err) {
  process.stderr.write(`cdc chain: ${(err as Error).stack ?? err}\n`);
  await stop(1);
}
