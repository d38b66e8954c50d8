// redlock 5.0.0-beta.2 ships types that TypeScript cannot reach through its package
// "exports" under NodeNext; this declares the part of its API tradeflow uses.
declare module 'redlock' {
  import type { EventEmitter } from 'node:events';
  import type { Cluster, Redis } from 'ioredis';

  export class Lock {
    readonly expiration: number;
    extend(duration: number): Promise<Lock>;
    release(): Promise<unknown>;
  }

  export interface Settings {
    driftFactor: number;
    retryCount: number;
    retryDelay: number;
    retryJitter: number;
    automaticExtensionThreshold: number;
  }

  export default class Redlock extends EventEmitter {
    constructor(clients: Iterable<Redis | Cluster>, settings?: Partial<Settings>);
    acquire(resources: string[], duration: number, settings?: Partial<Settings>): Promise<Lock>;
  }
}
