import type { BatchPayload, OffsetCommitter } from '../../src/settlement/intake/kafka-intake.js';

type Offsets = { topic: string; partition: number; offset: string }[];

/**
 * A stand-in for a kafkajs consumer on one partition: it delivers batches from the last
 * committed offset (as Kafka redelivers after a crash), and records commits, resolved
 * offsets, heartbeats and pauses. `crashOnNextCommit` makes the next commit fail, as a
 * process dying between its MySQL writes and its commit would.
 */
export class ConsumerDouble implements OffsetCommitter {
  readonly commits: Offsets[] = [];
  readonly resolved: string[] = [];
  heartbeats = 0;
  pauses = 0;
  crashOnNextCommit = false;
  /** runs at each commit, before it is recorded: tests check what MySQL holds at that moment */
  onCommit: (offsets: Offsets) => Promise<void> = async () => {};
  private committed = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly log: (Buffer | null)[],
  ) {}

  async commitOffsets(offsets: Offsets): Promise<void> {
    if (this.crashOnNextCommit) {
      this.crashOnNextCommit = false;
      throw new Error('simulated crash before the commit');
    }
    await this.onCommit(offsets);
    this.commits.push(offsets);
    this.committed = Number(offsets[0]?.offset);
  }

  /** Delivers up to `max` messages from the committed offset to `handle`. */
  async deliver(handle: (p: BatchPayload, c: OffsetCommitter) => Promise<void>, max = 1000): Promise<void> {
    const messages = this.log
      .slice(this.committed, this.committed + max)
      .map((value, i) => ({ offset: String(this.committed + i), value }));
    await handle(
      {
        batch: { topic: this.topic, partition: this.partition, messages },
        resolveOffset: (o) => {
          this.resolved.push(o);
        },
        heartbeat: async () => {
          this.heartbeats++;
        },
        pause: () => {
          this.pauses++;
          return () => {};
        },
        isRunning: () => true,
        isStale: () => false,
      },
      this,
    );
  }
}
