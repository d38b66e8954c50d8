import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { percentiles } from '../../src/infra/percentiles.js';

/** Redis's own count of the memory it allocated (INFO memory `used_memory`), in bytes. */
export async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const m = /^used_memory:(\d+)/m.exec(info);
  if (!m) throw new Error('INFO memory has no used_memory');
  return Number(m[1]);
}

/** Resident set size of a process (VmRSS of /proc/<pid>/status), in bytes; null once it is gone. */
export async function rssBytes(pid: number): Promise<number | null> {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface Minute {
  /** from 1: the first minute after the first order was written */
  minute: number;
  done: number;
  p99Ms: number | null;
  maxRedisBytes: number;
  maxRssBytes: number;
}

/** The largest sample of each minute since `startMs`, and the orders finished in it. */
export class PerMinute {
  private readonly redis = new Map<number, number>();
  private readonly rss = new Map<number, number>();

  constructor(private readonly startMs: number) {}

  private index(ms: number): number {
    return Math.max(0, Math.floor((ms - this.startMs) / 60_000));
  }

  sample(atMs: number, redisBytes: number, rss: number | null): void {
    const i = this.index(atMs);
    this.redis.set(i, Math.max(this.redis.get(i) ?? 0, redisBytes));
    if (rss !== null) this.rss.set(i, Math.max(this.rss.get(i) ?? 0, rss));
  }

  /** `finished`: done time and end-to-end latency (ms) of each DONE order. */
  minutes(finished: readonly { doneMs: number; e2eMs: number }[]): Minute[] {
    const latencies = new Map<number, number[]>();
    for (const f of finished) {
      const i = this.index(f.doneMs);
      const l = latencies.get(i);
      if (l) l.push(f.e2eMs);
      else latencies.set(i, [f.e2eMs]);
    }
    const last = Math.max(0, ...this.redis.keys(), ...latencies.keys());
    return Array.from({ length: last + 1 }, (_, i) => {
      const l = latencies.get(i) ?? [];
      return {
        minute: i + 1,
        done: l.length,
        p99Ms: l.length ? percentiles(l).p99 : null,
        maxRedisBytes: this.redis.get(i) ?? 0,
        maxRssBytes: this.rss.get(i) ?? 0,
      };
    });
  }
}
