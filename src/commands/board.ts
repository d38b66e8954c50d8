import { startBoard } from '../board/start-board.js';
import type { Run } from '../cli.js';
import { ConfigError } from '../config.js';
import { untilSignal } from './signals.js';

export const run: Run = async (_args, { config, log }) => {
  let board: Awaited<ReturnType<typeof startBoard>>;
  try {
    board = await startBoard(config, log, { worker: true });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`tradeflow: bad setting ${err.message}\n`);
    return 2;
  }
  process.stdout.write(`Bull Board on ${board.url}\n`);
  const signal = await untilSignal();
  log.info({ signal }, 'closing Bull Board');
  await board.close();
  return 0;
};
