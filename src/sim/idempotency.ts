/**
 * Remembers the first successful reply per idempotency key, so a retry gets exactly the same
 * status and body and changes nothing. Only successes are remembered: a failed call must stay
 * retryable under the same key.
 */

export interface StoredReply {
  readonly fingerprint: string;
  readonly status: number;
  /** the serialized body, replayed byte for byte */
  readonly body: string;
}

export type Lookup =
  | { kind: 'new' }
  | { kind: 'replay'; reply: StoredReply }
  | { kind: 'conflict'; reply: StoredReply };

const NEW: Lookup = { kind: 'new' };

export class IdempotencyStore {
  readonly #replies = new Map<string, StoredReply>();

  lookup(key: string, fingerprint: string): Lookup {
    const reply = this.#replies.get(key);
    if (reply === undefined) return NEW;
    return reply.fingerprint === fingerprint ? { kind: 'replay', reply } : { kind: 'conflict', reply };
  }

  remember(key: string, reply: StoredReply): void {
    if (this.#replies.has(key)) throw new Error(`idempotency key ${key} is already answered`);
    this.#replies.set(key, reply);
  }

  get size(): number {
    return this.#replies.size;
  }
}
