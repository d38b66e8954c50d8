import { type ChildProcess, spawn } from 'node:child_process';

/** Starts `tradeflow <args>` as a child process, the same way this process was started (node or tsx). */
export function spawnTradeflow(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot tell how tradeflow was started');
  return spawn(process.execPath, [...process.execArgv, entry, ...args], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
