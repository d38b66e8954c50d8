import { allPartitions, partitionOf, partitionPrefix } from '../domain/partition.js';
import { seenKey, signalDeadLetterKey, signalStreamKey } from './codec.js';

/**
 * The one place that knows the fan-out's partition streams (domain/partition.ts): every
 * producer (the ingress, fill and risk intake, close-outs, stop triggers) asks it where an
 * entry goes. A trader's signal goes to every partition; a request about one copier (its
 * close-out, a stop's trigger) only to that copier's. With P = 1 every key is today's.
 */
export class PartitionStreams {
  constructor(
    readonly prefix: string,
    readonly parts = 1,
  ) {}

  /** Every partition's number. */
  all(): number[] {
    return allPartitions(this.parts);
  }

  /** The partition a copier's requests go to, and whose holder sizes its copies. */
  ofCopier(copierId: string): number {
    return partitionOf(copierId, this.parts);
  }

  /** The key prefix of the partition's stream, seen keys and role lock (a hash tag of its own with P > 1). */
  prefixOf(part: number): string {
    return partitionPrefix(this.prefix, part, this.parts);
  }

  stream(part: number): string {
    return signalStreamKey(this.prefixOf(part));
  }

  deadLetter(part: number): string {
    return signalDeadLetterKey(this.prefixOf(part));
  }

  /** The key that remembers a signal id in one partition: beside its stream, so one script sets both. */
  seen(part: number, traderId: string, signalId: string): string {
    return seenKey(this.prefixOf(part), traderId, signalId);
  }

  /** The stream of the copier's partition. */
  copierStream(copierId: string): string {
    return this.stream(this.ofCopier(copierId));
  }
}
