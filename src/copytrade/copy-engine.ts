import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createExchangeClient, type InstrumentId } from '../clients/exchange.js';
import { type CopySettings, DEV_SECRET_KEY_HEX } from '../config.js';
import type { Logger } from '../infra/log.js';
import { createPool } from '../infra/mysql/client.js';
import { createRedis } from '../infra/redis.js';
import { Turns } from '../infra/turns.js';
import { AttemptLimiter } from './api/attempt-limiter.js';
import { CredentialCache, loadCredentials } from './api/credentials.js';
import { FollowStore } from './api/follow-store.js';
import { mountLeaderboard } from './api/leaderboard-routes.js';
import { type CopierApi, startCopierApi } from './api/server.js';
import {
  type CopyChange,
  copierChanged,
  copyChangedChannel,
  copyChangePublisher,
  decodeCopyChange,
} from './copy-changes.js';
import { startDrift } from './drift/start-drift.js';
import { CopierBook } from './fanout/book.js';
import { BookLoader } from './fanout/book-loader.js';
import { CopierLiquidations } from './fanout/copier-liquidation.js';
import { CopyStore } from './fanout/copy-store.js';
import { Fanout } from './fanout/fanout.js';
import { FanoutWorker } from './fanout/fanout-worker.js';
import { LiquidationStore } from './fanout/liquidation-store.js';
import { RefusalPause } from './fanout/refusal-pause.js';
import { encodeCloseOutEntry } from './ingress/codec.js';
import { PartitionStreams } from './ingress/partition-streams.js';
import { requeueAccepted } from './ingress/requeue.js';
import { riskHandler } from './ingress/risk-intake.js';
import { startCopyIngress } from './ingress/start-ingress.js';
import { startLeaderboard } from './leaderboard/start-leaderboard.js';
import { eligibilityThresholds } from './leads/eligibility-check.js';
import { leadApplicationRoutes } from './leads/lead-api.js';
import { LeadCache } from './leads/lead-store.js';
import type { CopyMetrics } from './metrics.js';
import { copierNotices } from './notices/copier-notices.js';
import type { Notice } from './notices/kinds.js';
import { leadNotices } from './notices/lead-notices.js';
import { marginNotices } from './notices/margin-notices.js';
import { noticeMessage, subscribeNotices } from './notices/notices.js';
import { profitShareNotices } from './notices/profit-share-notices.js';
import { profitShareCopierRoutes } from './profit-share/copier-routes.js';
import { PairStore } from './profit-share/pair-store.js';
import { startProfitShare } from './profit-share/start-profit-share.js';
import { stopActions } from './protection/stop-actions.js';
import { StopWatcher } from './protection/stop-watcher.js';

/** Announced on `{prefix}:copy:changed` by whoever changes a follow or a lead: the book reloads it (copy-changes.ts). */
export { copyChangedChannel };

/**
 * What one engine runs. With one partition (TF_COPY_PARTITIONS = 1) everything: `shared`
 * and partition 0. With P > 1 a `tradeflow copy` process runs the shared parts (ingress,
 * API, leaderboard, profit share) under the main role, and one engine per partition it
 * holds (its book of that partition's copiers, fan-out, liquidations, stops).
 */
export interface CopyScope {
  /** the ingress, the copiers' API, the leaderboard, profit share */
  readonly shared: boolean;
  /** the partition whose fan-out this engine runs, or null for none */
  readonly part: number | null;
}

export const WHOLE: CopyScope = { shared: true, part: 0 };

export interface CopyEngine {
  readonly ingressPort: number;
  readonly apiPort: number;
  stop(): Promise<void>;
}

/**
 * The copy-trading engine, wired in the order a signal travels:
 *   trader frame / fill event ─(1 ingress: MySQL, then the stream, then the ack)─▶ stream copy:signals
 *     ─(2 fan-out)─▶ exchange batches ─▶ MySQL
 * with (3) the book kept in memory: loaded at start, reloaded per lead or copier on pub/sub,
 * and whole on resubscribe and every `copyBookReloadMs`, (6) the copiers' stops checked
 * on the mark prices after each refresh, each trigger a close-out request on the stream,
 * and (7) drift repair between signals (src/copytrade/drift/).
 * One copy engine runs at a time (the book is in its memory, and a trader's signals must be
 * fanned out in order): `tradeflow copy` starts it only while it holds the fan-out role.
 * With TF_COPY_PARTITIONS > 1 that is one engine per partition (scope `{ part }`: its book
 * of that partition's copiers, fan-out, liquidations, stops, drift), each under its
 * partition's role, and one for the shared parts (scope `shared`) under the main role.
 */
/** This process, as the fan-out's stream consumer and as the holder of the fan-out role. */
export const copyConsumerName = (): string =>
  `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

export async function startCopyEngine(
  config: CopySettings,
  log: Logger,
  consumer = copyConsumerName(),
  /** whether this process still holds the fan-out role, asked before each write */
  holdsRole: () => boolean = () => true,
  metrics?: CopyMetrics,
  scope: CopyScope = WHOLE,
): Promise<CopyEngine> {
  const prefix = config.redisPrefix;
  const partitions = new PartitionStreams(prefix, config.copyPartitions);
  const part = scope.part;
  // the partition's keys (its stream, dead letters, seen keys): today's with one partition
  const partPrefix = partitions.prefixOf(part ?? 0);
  const owns = (copierId: string) => part !== null && partitions.ofCopier(copierId) === part;
  const redis = createRedis(config.redisUrl, { name: `tf-copy-${consumer}` });
  const blocking = createRedis(config.redisUrl, { blocking: true, name: `tf-copy-${consumer}-r` });
  const subscriber = createRedis(config.redisUrl, { blocking: true, name: `tf-copy-${consumer}-sub` });
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 8 });
  const writer = createPool(config.mysqlUrl, config.engineDb, { connections: 8, multipleStatements: true });
  // the copiers' API and the credential reloads: what strangers can cause never queues on the fan-out's pool
  const apiPool = createPool(config.mysqlUrl, config.engineDb, {
    connections: config.copyApiMysqlConnections,
    queueLimit: config.copyApiMysqlQueue,
  });
  const exchange = createExchangeClient(config.exchangeUrl, {
    timeoutMs: config.httpTimeoutMs,
    connections: config.httpConnections,
  });
  // what has started, stopped in reverse order: by stop(), or at once if a later part fails to start
  const started: (() => unknown)[] = [
    () => {
      for (const r of [redis, blocking, subscriber]) r.disconnect();
    },
    () => Promise.allSettled([pool.end(), writer.end(), apiPool.end(), exchange.close()]),
  ];
  let fanout: Fanout | undefined;
  const stop = async () => {
    // at once, before any await: a batch whose answer is already in must not be recorded
    // after the role is gone (the successor reads MySQL and the exchange)
    fanout?.stop();
    for (const part of started.splice(0).reverse()) await part();
  };
  try {
    return await start();
  } catch (err) {
    await stop();
    throw err;
  }

  async function start(): Promise<CopyEngine> {
    // 3. the book, and the prices sizing reads
    // one cache of leads: the book sizes from it, the ingress's lead table is built from it
    const leads = new LeadCache();
    const book = new CopierBook(leads);
    // the leads always (the ingress's lead table is built from them), the copiers of its partition only
    const loader = new BookLoader(pool, exchange, book, log, owns);
    await loader.all();
    if (part !== null) {
      metrics?.watchBook(() => book.size(), `p${part}`);
      started.push(() => metrics?.watchBook(null, `p${part}`));
    }
    const prices = new Map<string, string>();
    const refreshPrices = async () => {
      for (const instrument of book.instruments()) {
        prices.set(instrument, (await exchange.price(instrument as InstrumentId)).price);
      }
    };
    if (part !== null) await refreshPrices();
    // the copiers' stops, checked on each refresh once they are wired (6.)
    let stops: StopWatcher | undefined;
    if (part !== null) {
      const priceTimer = setInterval(
        () =>
          refreshPrices().then(
            () => stops?.check(prices),
            (err) => log.warn({ err }, 'price refresh failed'),
          ),
        config.copyPriceRefreshMs,
      );
      started.push(() => clearInterval(priceTimer));
    }
    // the credentials: tokens and API keys in memory, so that a wrong one costs no query
    if (config.secretKey.equals(Buffer.from(DEV_SECRET_KEY_HEX, 'hex'))) {
      log.warn('TF_SECRET_KEY is the public development default: set a key of your own before production');
    }
    const loadOpts = {
      secretKey: config.secretKey,
      onUnreadableSecret: (traderId: string, err: Error) =>
        log.error(
          { traderId, err: err.message },
          'trader secret does not open with TF_SECRET_KEY; it cannot sign',
        ),
    };
    const credentials = new CredentialCache(() => loadCredentials(apiPool, loadOpts), {
      missReloadMs: config.copyCredentialsMissReloadMs,
    });
    // a partition's engine serves no socket: it needs no credentials
    const reloadCredentials = () =>
      scope.shared
        ? credentials
            .reload()
            .catch((err) => log.error({ err }, 'credential reload failed; the previous stay'))
        : Promise.resolve();
    if (scope.shared) {
      await credentials.reload();
      const credentialTimer = setInterval(reloadCredentials, config.copyCredentialsRefreshMs);
      started.push(() => clearInterval(credentialTimer));
    }
    const attempts = new AttemptLimiter({
      maxFailures: config.copyAuthMaxFailures,
      windowMs: config.copyAuthWindowMs,
    });
    // the ingress's lead table, once it runs
    let leadsChanged: () => unknown = () => undefined;
    const reload = (change: CopyChange) =>
      loader.apply(change).catch((err) => log.error({ err, change }, 'copy book reload failed'));
    subscriber.on('message', (_channel, message: string) => {
      const change = decodeCopyChange(message);
      if ('error' in change) log.warn({ message: message.slice(0, 200) }, change.error);
      else void reload(change);
      // whatever the message names: a change of a copier or a lead may be one of its credentials
      void reloadCredentials();
      // the lead table holds leads only: a copier's change (every follow, pause, stop) leaves it as it is
      if ('error' in change || change.kind !== 'copier') void leadsChanged();
    });
    await subscriber.subscribe(copyChangedChannel(prefix));
    // what was published while the subscriber was away is lost: after a reconnect (ioredis
    // subscribes again on 'ready'), everything is read again
    subscriber.on('ready', () => void reload({ kind: 'all' }));
    if (config.copyBookReloadMs > 0) {
      const reloadTimer = setInterval(() => void reload({ kind: 'all' }), config.copyBookReloadMs);
      started.push(() => clearInterval(reloadTimer));
    }

    let api: CopierApi | undefined;
    // the leaderboard: a snapshot round every TF_EQUITY_SNAPSHOT_MS, a lead's entry again after each of its signals
    // (after a signal only where the fan-out runs in the same engine; otherwise at its round)
    let observer: ReturnType<ReturnType<typeof startLeaderboard>['observe']> | undefined;
    let leaderboard: ReturnType<typeof startLeaderboard> | undefined;
    if (scope.shared) {
      leaderboard = startLeaderboard(config, redis, exchange, log);
      const board = leaderboard;
      started.push(() => board.stop());
      observer = board.observe(metrics);
    }
    const market = (instrument: string) => {
      const price = prices.get(instrument);
      if (!price) throw new Error(`no price for ${instrument}`);
      return { price, feeRate: config.copyFeeRate };
    };
    let turns: Turns | undefined;
    if (part !== null) {
      // 2. the fan-out; what it records is pushed to the copiers on the API's /stream (4)
      const store = new CopyStore(pool, writer, part ?? 0);
      // follows whose copies the exchange keeps refusing: paused at the limit, with a notice
      const refusals = new RefusalPause({
        pool,
        book,
        limit: config.copyPauseAfterRefusals,
        reload: (copierId) => loader.apply(copierChanged(copierId)),
        push: (n) => api?.publish(n.userId, () => noticeMessage(n)),
        log,
      });
      await refusals.load();
      fanout = new Fanout(
        book,
        exchange,
        store,
        market,
        {
          batchSize: config.copyBatchSize,
          holdsRole,
          observer: metrics,
          refusals,
          rulesStale: () => loader.rules(),
        },
        log,
        (copierId, message) => api?.publish(copierId, message),
      );
      // copiers' own liquidations, in turn with the signals (their notices pushed as the fan-out's are)
      const liquidations = new CopierLiquidations(
        book,
        new LiquidationStore(writer, part ?? 0),
        { holdsRole },
        log,
        (copierId) => copyChangePublisher(redis, prefix)(copierChanged(copierId)),
        (copierId, notices) => {
          for (const n of notices) api?.publish(copierId, () => noticeMessage(n));
        },
      );
      // the fan-out's entries and drift repairs (7) take turns: both move the book's slices
      turns = new Turns();
      const worker = new FanoutWorker(
        redis,
        blocking,
        fanout,
        { prefix: partPrefix, consumer, holdsRole, liquidations, turns },
        log,
        observer ?? metrics,
      );
      // acked signals Redis lost, back in the stream before the fan-out reads it and before
      // the ingress adds anything after them
      await requeueAccepted({
        redis,
        pool,
        prefix,
        consumer,
        seenTtlMs: config.copySeenTtlMs,
        logger: log,
        part: part ?? 0,
        parts: partitions.parts,
      });
      await worker.start();
      started.push(() => worker.stop());
    }
    // started before the ingress: a client that sees the ingress listen finds the API at once after it
    // notices written here (pauses) or by other processes (the operator API, profit share) to the users' /stream
    const noticeSubscriber = createRedis(config.redisUrl, {
      blocking: true,
      name: `tf-copy-${consumer}-notices`,
    });
    started.push(() => noticeSubscriber.disconnect());
    const pushNotice = (n: Notice) => api?.publish(n.userId, () => noticeMessage(n));
    if (scope.shared) await subscribeNotices(noticeSubscriber, prefix, pushNotice, log);
    // 6. the copiers' stops on the mark prices above: each trigger a close-out request on the
    // stream of the copier's partition (stop-watcher.ts); the book holds only its partition's copiers
    if (part !== null) {
      stops = new StopWatcher(
        book,
        stopActions({
          pool: apiPool,
          redis,
          prefix,
          publish: copyChangePublisher(redis, prefix),
          reloadCopier: (copierId) => loader.apply(copierChanged(copierId)),
          push: pushNotice,
          partitions,
        }),
        { holdsRole },
        log,
      );
      started.push(() => {
        stops = undefined;
      });
    }
    // 7. drift repair: this book's copiers against the exchange and their leads' signals,
    // between signals (in the fan-out's turns); a whole round at its start (a takeover) and
    // after a reconnect. Its metrics with one partition only (a process may run two partitions'
    // loops, and the gauges are registered once).
    if (part !== null && fanout && turns) {
      const drift = startDrift({
        config,
        book,
        fanout,
        turns,
        pool,
        apiPool,
        market,
        pushNotice,
        holdsRole,
        ...(partitions.parts === 1 && metrics ? { metrics } : {}),
        part,
        log,
      });
      if (drift) {
        started.push(() => drift.close());
        subscriber.on('ready', () => drift.kick());
      }
    }
    if (!scope.shared) {
      log.info({ consumer, part }, 'copy partition started');
      return { ingressPort: 0, apiPort: 0, stop };
    }
    const board = leaderboard as NonNullable<typeof leaderboard>;
    // 5. profit share: the withholding sweep, the cycle's cut-off and stopped follows, as BullMQ jobs
    const profitShare = await startProfitShare(
      config,
      pool,
      exchange,
      log,
      profitShareNotices(apiPool, pushNotice, log),
    );
    started.push(() => profitShare.close());
    // 1. the ingress: traders' frames, and (when configured) the exchange's fills of leaders
    const ingress = await startCopyIngress({
      redis,
      pool,
      prefix,
      host: config.copyIngressHost,
      port: config.copyIngressPort,
      credentials: (apiKey) => credentials.traderOf(apiKey),
      attempts,
      seenTtlMs: config.copySeenTtlMs,
      parts: partitions.parts,
      frameMaxBytes: config.copyFrameMaxBytes,
      maxSkewMs: config.copyMaxSkewMs,
      leads: {
        refreshMs: config.copyLeadersRefreshMs,
        // the cache reloaded (in the loader's turn, after any change it is applying), then read
        load: async () => {
          await loader.leads();
          return leads.leaders();
        },
      },
      ...(config.copyFillEventsUrl
        ? {
            fills: {
              url: config.copyFillEventsUrl,
              // liquidations to the fan-out, a lead's margin change to its copiers
              onRisk: riskHandler({
                redis,
                pool,
                prefix,
                seenTtlMs: config.copySeenTtlMs,
                parts: partitions.parts,
                margin: marginNotices({ pool: apiPool, exchange, push: pushNotice, log }),
              }),
            },
          }
        : {}),
      logger: log,
    });
    started.push(() => ingress.close());
    leadsChanged = () =>
      ingress.leaders
        .refresh()
        .catch((err) => log.error({ err }, 'lead table reload failed; the previous stays'));
    // 4. the copiers' API; it answers once the book holds the change (other writers announce
    // theirs on the channel above)
    api = await startCopierApi({
      host: config.copyApiHost,
      port: config.copyApiPort,
      store: new FollowStore(apiPool, copyChangePublisher(redis, prefix)),
      copierOf: (token) => credentials.copierOf(token),
      attempts,
      // with one partition the change is in this book when the API answers; with P > 1 the
      // store has published it, and each partition's holder reloads the copier on pub/sub
      changed: (copierId) => (part !== null ? loader.apply(copierChanged(copierId)) : Promise.resolve()),
      mount: (app, httpExchanges) => mountLeaderboard(app, httpExchanges, { board: board.board, log }),
      closeOut: async (copierId, traderId) => {
        const requestId = randomBytes(6).toString('hex');
        const request = { requestId, copierId, traderId, requestedMs: Date.now() };
        // to the copier's partition only: its holder has its slices
        await redis.xadd(partitions.copierStream(copierId), '*', ...encodeCloseOutEntry(request));
        return requestId;
      },
      notices: copierNotices(apiPool, pushNotice, log),
      stopped: (copierId, traderId) => profitShare.stopped({ copierId, traderId }),
      routes: [
        ...leadApplicationRoutes({
          pool: apiPool,
          exchange,
          publish: copyChangePublisher(redis, prefix),
          levels: config.leadLevels,
          thresholds: eligibilityThresholds(config),
          notices: leadNotices(apiPool, pushNotice, log),
        }),
        ...profitShareCopierRoutes(new PairStore(apiPool)),
      ],
      log,
    });
    started.push(() => api?.close());
    log.info({ consumer, ingress: ingress.port, api: api.port }, 'copy engine started');
    return { ingressPort: ingress.port, apiPort: api.port, stop };
  }
}
