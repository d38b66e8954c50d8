import type { ExchangeTransfer, ExchangeTransfersView } from '../../clients/exchange-wire.js';
import type { TransferRequest } from './requests.js';

/**
 * The funding transfers the exchange answered, by key: the first reply of each key, kept for
 * the simulator's life, so that the same key and body get it again and another body under
 * the key is told apart (a conflict). Only successes are kept: a refused transfer (no funds)
 * may be sent again under its key once the funds are there.
 */
export class TransferBook {
  readonly #answered = new Map<string, ExchangeTransfer>();
  #replays = 0;

  /** The stored reply of `req.key` (marked as a replay), 'conflict', or undefined for a new key. */
  find(req: TransferRequest): ExchangeTransfer | 'conflict' | undefined {
    const first = this.#answered.get(req.key);
    if (first === undefined) return undefined;
    if (first.from !== req.from || first.to !== req.to || first.amount !== req.amountText) return 'conflict';
    this.#replays++;
    return { ...first, replay: true };
  }

  remember(reply: ExchangeTransfer): void {
    this.#answered.set(reply.key, reply);
  }

  /** The transfers whose key starts with `prefix`, in the order applied, with the ledger's count of each key. */
  view(
    prefix: string,
    ledger: { transferCount(key: string): number; doubledTransfers: number },
    escrow: Record<string, string>,
  ): ExchangeTransfersView {
    const transfers: ExchangeTransfersView['transfers'] = [];
    for (const t of this.#answered.values()) {
      if (!t.key.startsWith(prefix)) continue;
      transfers.push({
        key: t.key,
        from: t.from,
        to: t.to,
        amount: t.amount,
        appliedMs: t.appliedMs,
        applied: ledger.transferCount(t.key),
      });
    }
    return { transfers, duplicatedKeys: ledger.doubledTransfers, replays: this.#replays, escrow };
  }
}
