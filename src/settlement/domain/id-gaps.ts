/**
 * The ids a poller skipped. Auto-increment ids are taken at insert but seen at commit, so
 * with concurrent writers id 11 can commit after id 12 was read. The poller notes such gaps,
 * asks for them again on later polls, and gives up on one after `waitMs` (an insert that
 * was rolled back leaves a gap that never fills). Pure; the poller does the reading.
 */
export class IdGaps {
  /** gap id → when it was first seen missing (ms) */
  private readonly open = new Map<number, number>();

  constructor(
    private readonly waitMs: number,
    /** a jump wider than this (an auto-increment reset, a bulk delete) is not a gap to wait for */
    private readonly maxGaps = 10_000,
  ) {}

  /** Notes the ids read in order after `after`; the ids skipped between them become gaps. */
  read(after: number, ids: readonly number[], now: number): void {
    let prev = after;
    for (const id of ids) {
      this.open.delete(id);
      if (id - prev - 1 <= this.maxGaps - this.open.size) {
        for (let gap = prev + 1; gap < id; gap++) if (!this.open.has(gap)) this.open.set(gap, now);
      }
      prev = Math.max(prev, id);
    }
  }

  /** A gap's row turned up. */
  filled(id: number): void {
    this.open.delete(id);
  }

  /** The gaps still worth asking for; those older than `waitMs` are given up. */
  pending(now: number): number[] {
    for (const [id, since] of this.open) if (now - since > this.waitMs) this.open.delete(id);
    return [...this.open.keys()];
  }

  /** Where a restarted poller must read from: before the oldest open gap, else after `next`. */
  safeCursor(next: number): number {
    let cursor = next;
    for (const id of this.open.keys()) cursor = Math.min(cursor, id - 1);
    return cursor;
  }
}
