/**
 * CPU precedence for a benchmark's load generator. On a small machine the generator shares
 * the cores with everything it measures; it has to issue each arrival on time, so it gets a
 * real-time class (SCHED_FIFO) and everything it spawns falls back to normal scheduling
 * (SCHED_RESET_ON_FORK: the kernel resets every child and thread created afterwards).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const GENERATOR_RT_PRIORITY = 50;

/**
 * `chrt -a -f -R -p <prio> <pid>`: all threads of the process (V8's GC helpers included, which
 * the generator's thread waits for), reset on fork. Returns null on success, else why not
 * (no chrt, not permitted): the caller says so and goes on with normal scheduling.
 */
export function raiseToRealtime(pid: number, priority = GENERATOR_RT_PRIORITY): string | null {
  try {
    execFileSync('chrt', ['-a', '-f', '-R', '-p', String(priority), String(pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') return 'chrt not found (util-linux)';
    return (e.stderr?.toString().trim() || e.message).split('\n')[0] ?? 'chrt failed';
  }
}

const POLICIES = ['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE'];

/**
 * Policy and real-time priority of a process's main thread from the text of /proc/<pid>/stat
 * (fields 40 rt_priority and 41 policy, counted after the command name's last ')').
 */
export function schedulingFromStat(statText: string): string {
  const f = statText
    .slice(statText.lastIndexOf(')') + 1)
    .trim()
    .split(/\s+/);
  const prio = Number(f[40 - 3]);
  const policy = Number(f[41 - 3]);
  const name = POLICIES[policy] ?? `policy ${policy}`;
  return policy === 1 || policy === 2 ? `${name} ${prio}` : name;
}

/** The scheduling of a running process, null if it is gone. */
export function schedulingOf(pid: number): string | null {
  try {
    return schedulingFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}
