/** CPU time of a process from /proc/<pid>/stat, and finding a server process by its name. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * utime + stime in clock ticks from the text of /proc/<pid>/stat. The command name (field 2)
 * is in parentheses and may itself hold spaces and ')', so fields are counted after the last ')'.
 */
export function cpuTicks(statText: string): number {
  const close = statText.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  // after ')' come field 3 (state) onwards: utime is field 14, stime field 15
  const f = statText
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(f[14 - 3]);
  const stime = Number(f[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error('no utime/stime in /proc/<pid>/stat');
  return utime + stime;
}

/** CPU ms per order between two tick counts. */
export const cpuMsPerOrder = (ticksBefore: number, ticksAfter: number, clockTicks: number, orders: number) =>
  orders > 0 ? ((ticksAfter - ticksBefore) / clockTicks / orders) * 1000 : null;

let ticksPerS: number | undefined;
/** `getconf CLK_TCK`, 100 if it cannot be asked. */
export function clockTicks(): number {
  if (ticksPerS === undefined) {
    try {
      ticksPerS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerS = 100;
    }
  }
  return ticksPerS;
}

/** The process's utime + stime in ticks, null if it is gone. */
export function readTicks(pid: number): number | null {
  try {
    return cpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The first process whose command name is one of `names` (e.g. mariadbd, mysqld), null if none. */
export function findPid(...names: string[]): number | null {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${d}/comm`, 'utf8').trim())) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}
