import { parseArgs } from 'node:util';
import { boardAuthFor } from '../board/auth.js';
import { startBoard } from '../board/start-board.js';
import type { Run } from '../cli.js';
import { ConfigError, settlementSettings } from '../config.js';
import { startSettlementEngine } from '../settlement/engine.js';
import { untilSignal } from './signals.js';

export const run: Run = async (args, { config, log }) => {
  const { values } = parseArgs({ args, options: { board: { type: 'boolean', default: false } } });
  if (values.board) {
    // refused before the engine starts, not after it has taken work
    try {
      boardAuthFor(config.boardHost, config.boardAuth);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`tradeflow: bad setting ${err.message}\n`);
      return 2;
    }
  }
  const engine = await startSettlementEngine(settlementSettings(config), log);
  // the engine runs the parked queue's worker already
  const board = values.board
    ? await startBoard(config, log, { worker: false }).catch(async (err) => {
        await engine.stop(config.drainTimeoutMs);
        throw err;
      })
    : null;
  if (board) process.stdout.write(`Bull Board on ${board.url}\n`);
  const signal = await untilSignal();
  log.info({ signal, deadlineMs: config.drainTimeoutMs }, 'draining');
  await board?.close();
  await engine.stop(config.drainTimeoutMs);
  return 0;
};
