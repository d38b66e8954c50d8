/**
 * A seeded random source (mulberry32), so a campaign's schedule, loads and choice of victims
 * repeat from `--seed`. The simulators draw their own faults with Math.random: a replayed run
 * has the same schedule and load, not the same 500 on the same call.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** [0, 1), like Math.random */
  next = (): number => {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  /** an integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from nothing');
    return item;
  }
}

/**
 * Run `run` of a campaign seeded `seed` is seeded `seed + run`: the first run of `--seed X`
 * is the run printed with seed X, so `--seed X --runs 1` replays it.
 */
export const runSeed = (seed: number, run: number): number => (seed + run) % 2_147_483_647;
