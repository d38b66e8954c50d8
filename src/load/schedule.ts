/**
 * Open-loop arrivals for load generators: when each order is due, decided before the run
 * starts, so a slow system cannot slow the arrivals down (no coordinated omission).
 */

/** A small seeded generator (mulberry32): the same seed gives the same schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Arrival offsets in ms in [0, durationMs) of a Poisson process at `ratePerS`: exponential
 * spacing of mean 1000 / rate, so arrivals neither clump on a tick nor beat against a poll.
 */
export function poissonArrivals(ratePerS: number, durationMs: number, random: () => number): number[] {
  if (!(ratePerS > 0) || !(durationMs > 0)) return [];
  const meanMs = 1000 / ratePerS;
  const out: number[] = [];
  for (let t = -Math.log(1 - random()) * meanMs; t < durationMs; t += -Math.log(1 - random()) * meanMs)
    out.push(t);
  return out;
}
