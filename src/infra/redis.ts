import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { clusterSeeds } from './redis-url.js';
import type { Read } from './stream-consumer.js';

/**
 * The Lua scripts of redis/, named `<name>-<numKeys>.lua`, callable as methods; a script
 * named `<name>-n.lua` takes a varying number of keys, the count passed first.
 */
export interface Scripts {
  /** redis/handoffs-n.lua */
  handoffs(
    numKeys: number,
    ...keysThenArgs: (string | number)[]
  ): Promise<[added: number[], read: Read[] | null]>;
  /** redis/watermark-1.lua */
  watermark(hash: string, ...shardAndMs: (string | number)[]): Promise<number>;
  /** redis/ack-1.lua */
  ack(stream: string, group: string, ...entryIds: string[]): Promise<number>;
  /** redis/trim-1.lua */
  trim(stream: string, group: string): Promise<number>;
}

/** One Redis server, or a Redis Cluster (TF_REDIS_URL `redis-cluster://host:port,host:port`). */
export type RedisConnection = Redis | Cluster;

export type RedisClient = RedisConnection & Scripts;

/**
 * A connection to the server or cluster `url` names. A cluster learns its other nodes from
 * the seeds and sends each command to the master of its key's slot.
 */
export function connectRedis(url: string, options: RedisOptions = {}): RedisConnection {
  const seeds = clusterSeeds(url);
  if (seeds === null) return new Redis(url, options);
  const { enableAutoPipelining, ...redisOptions } = options;
  return new Cluster(seeds, { redisOptions, enableAutoPipelining, maxRedirections: 16 });
}

/** A flat field/value reply (XINFO, stream entries) as a record. */
export function fieldMap(flat: readonly (string | number)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/** Every key matching `pattern`, over the whole SCAN cursor (one page may hold none of them). */
export async function scanKeys(redis: RedisConnection, pattern: string): Promise<string[]> {
  // SCAN walks one server's keys: a cluster's are on each of its masters, known once it is ready
  if (redis instanceof Cluster && redis.status !== 'ready') await once(redis, 'ready');
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const found: string[] = [];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** Deletes every key under `prefix:` and of its copy partitions (SCAN, not KEYS: the server may be shared); returns how many. */
export async function deleteKeys(redis: RedisConnection, prefix: string): Promise<number> {
  // with the copy fan-out's partitions (copytrade/domain/partition.ts), theirs too: `{<bare prefix>-p<n>}:…`
  const bare = prefix.startsWith('{') && prefix.endsWith('}') ? prefix.slice(1, -1) : prefix;
  const keys = [...(await scanKeys(redis, `${prefix}:*`)), ...(await scanKeys(redis, `{${bare}-p*}:*`))];
  let n = 0;
  // one DEL a key: a cluster refuses a DEL of keys in several slots
  if (redis instanceof Cluster) for (const key of keys) n += await redis.del(key);
  else for (let i = 0; i < keys.length; i += 1000) n += await redis.del(...keys.slice(i, i + 1000));
  return n;
}

const scriptDir = fileURLToPath(new URL('../../redis/', import.meta.url));

function defineScripts(redis: RedisConnection): RedisClient {
  for (const file of readdirSync(scriptDir)) {
    const m = /^([a-z][a-z0-9-]*)-(\d+|n)\.lua$/.exec(file);
    if (!m?.[1] || !m[2]) continue;
    const name = m[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const numberOfKeys = m[2] === 'n' ? undefined : Number(m[2]);
    redis.defineCommand(name, { numberOfKeys, lua: readFileSync(scriptDir + file, 'utf8') });
  }
  return redis as RedisClient;
}

/**
 * A Redis connection (to a server or a cluster, connectRedis). `blocking` ones serve one XREADGROUP BLOCK loop each and retry
 * forever (maxRetriesPerRequest null, as BullMQ also requires).
 */
export function createRedis(url: string, opts: { blocking?: boolean; name?: string } = {}): RedisClient {
  const redis = connectRedis(url, {
    connectionName: opts.name,
    maxRetriesPerRequest: opts.blocking ? null : 20,
    enableAutoPipelining: !opts.blocking,
    lazyConnect: false,
  });
  return defineScripts(redis);
}
