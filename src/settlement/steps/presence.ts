import type { RedisConnection } from '../../infra/redis.js';
import { scanKeys } from '../../infra/redis.js';

const PRESENCE_TTL_MS = 15_000;

/** Set while an engine process runs (refreshed; it expires if the process dies). */
export const presenceKey = (prefix: string, consumer: string): string => `${prefix}:engine:${consumer}`;

/** Consumer names of the engine processes running under `prefix` (their presence keys). */
export async function runningEngines(redis: RedisConnection, prefix: string): Promise<string[]> {
  const head = presenceKey(prefix, '');
  return (await scanKeys(redis, `${head}*`)).map((k) => k.slice(head.length));
}

/**
 * Announces `consumer` (a key, refreshed, so operators and the demo can see who runs, and the
 * janitor keeps its consumers in the groups); resolves once the key is set, with the withdrawal.
 */
export async function announcePresence(
  redis: RedisConnection,
  prefix: string,
  consumer: string,
): Promise<() => Promise<void>> {
  const presence = presenceKey(prefix, consumer);
  const beat = () => redis.set(presence, String(Date.now()), 'PX', PRESENCE_TTL_MS);
  await beat();
  const heartbeat = setInterval(() => beat().catch(() => undefined), PRESENCE_TTL_MS / 3);
  return async () => {
    clearInterval(heartbeat);
    await redis.del(presence).catch(() => undefined);
  };
}
