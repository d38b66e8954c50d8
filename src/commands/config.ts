import type { Run } from '../cli.js';
import { settingsTable } from '../config.js';

export const run: Run = async () => {
  process.stdout.write(`${settingsTable()}\n`);
  return 0;
};
