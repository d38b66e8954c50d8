import type { Run } from '../cli.js';
import { startSettlementEngine } from '../settlement/engine.js';
import { untilSignal } from './signals.js';

export const run: Run = async (_args, { config, log }) => {
  const engine = await startSettlementEngine(config, log);
  const signal = await untilSignal();
  log.info({ signal, deadlineMs: config.drainTimeoutMs }, 'draining');
  await engine.stop(config.drainTimeoutMs);
  return 0;
};
