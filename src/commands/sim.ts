import type { Run } from '../cli.js';
import { runSim } from '../sim/server.js';

export const run: Run = async (_args, { config, log }) => {
  await runSim(config, log);
  return 0;
};
