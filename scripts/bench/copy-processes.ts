/**
 * `tradeflow copy` as N processes of one deployment (TF_COPY_PARTITIONS = N): each with its
 * own ingress, API and ops ports. Only the holder of the main role binds its ingress and API
 * (whichever process that is), so the bench's trader connects to the one that answers; that
 * ingress adds each signal to every partition's stream.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../../test/support/harness.js';
import { readTicks } from './proc-stat.js';
import { child, stop } from './processes.js';

export interface CopyProcess {
  proc: ChildProcess;
  ingressPort: number;
  /** the CPU ticks read at the measured window's start */
  ticksAtStart: number;
}

export async function startCopyProcesses(n: number, env: Record<string, string>): Promise<CopyProcess[]> {
  const out: CopyProcess[] = [];
  for (let i = 0; i < n; i++) {
    const ingressPort = await freePort();
    const proc = child(['dist/cli.js', 'copy'], {
      ...env,
      TF_COPY_PARTITIONS: String(n),
      TF_COPY_INGRESS_PORT: String(ingressPort),
      TF_COPY_API_PORT: String(await freePort()),
      TF_COPY_OPS_PORT: '0',
    });
    out.push({ proc, ingressPort, ticksAtStart: 0 });
  }
  return out;
}

/** Reads every process's CPU ticks as the measured window starts. */
export function markStart(processes: CopyProcess[]): void {
  for (const p of processes) p.ticksAtStart = readTicks(p.proc.pid as number) ?? 0;
}

/** CPU ms each process spent since markStart (null for one that is gone: killed). */
export function cpuMsSinceStart(processes: CopyProcess[], clockTicks: number): (number | null)[] {
  return processes.map((p) => {
    const now = readTicks(p.proc.pid as number);
    return now === null ? null : ((now - p.ticksAtStart) / clockTicks) * 1000;
  });
}

export async function stopCopyProcesses(processes: CopyProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => stop(p.proc)));
}
