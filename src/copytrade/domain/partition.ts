import { createHash } from 'node:crypto';

/**
 * The copy fan-out partitioned by copier (TF_COPY_PARTITIONS = P). Copier c belongs to
 * partition partitionOf(c, P); every signal goes to every partition, and each partition's
 * holder sizes and places only its own copiers. So everything about one copier (its
 * balance reserved in the book, its liquidation across leads, its equity stop, the drift
 * of its positions) stays in one process, and a big trader's copiers are spread over all
 * partitions without a shard setting. Pure: no I/O.
 *
 * With P = 1 every key is today's (a rolling deploy from one process keeps its stream);
 * partition p of P > 1 has a hash tag of its own, `{<bare prefix>-p<p>}`, so a Redis
 * Cluster spreads the partitions' streams and locks over its masters.
 */

/** The copier's partition: the first 4 bytes of sha1(copierId), mod P. Stable across processes and releases. */
export function partitionOf(copierId: string, parts: number): number {
  if (parts <= 1) return 0;
  return createHash('sha1').update(copierId).digest().readUInt32BE(0) % parts;
}

/** The prefix without the braces of a hash tag: `{tf}` → `tf`. */
export const barePrefix = (prefix: string): string =>
  prefix.startsWith('{') && prefix.endsWith('}') ? prefix.slice(1, -1) : prefix;

/** The key prefix of partition `part`'s stream, dead letters, seen keys and lock. */
export function partitionPrefix(prefix: string, part: number, parts: number): string {
  if (parts <= 1) return prefix;
  return `{${barePrefix(prefix)}-p${part}}`;
}

/** The role lock of partition `part` (P > 1; with P = 1 the fan-out runs under the main role `copy:fanout`). */
export const partitionRole = (part: number): string => `copy:fanout:p${part}`;

/** The fence (MySQL token row) of partition `part`'s role. */
export const partitionFence = (part: number): string => `copy-fanout-p${part}`;

/** How many partitions one of `live` copy processes holds at most: ceil(P / live). */
export function partitionsPerProcess(parts: number, live: number): number {
  return Math.ceil(parts / Math.max(1, live));
}

/** Every partition's number, 0 … P − 1. */
export const allPartitions = (parts: number): number[] =>
  Array.from({ length: Math.max(1, parts) }, (_, i) => i);
