import type { Run } from '../cli.js';
import { startCopyEngine } from '../copytrade/copy-engine.js';
import { untilSignal } from './signals.js';

export const run: Run = async (_args, { config, log }) => {
  const engine = await startCopyEngine(config, log);
  const signal = await untilSignal();
  log.info({ signal }, 'copy engine stopping');
  await engine.stop();
  return 0;
};
