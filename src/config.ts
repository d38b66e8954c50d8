import type { LevelRule } from './copytrade/domain/eligibility.js';
import { clusterSeeds } from './infra/redis-url.js';

/**
 * Every setting of tradeflow, read once from the environment, validated, frozen.
 * Modules receive the parts they need; none of them reads process.env.
 */

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

interface Setting<T> {
  name: string;
  doc: string;
  fallback: string;
  parse: (raw: string, name: string) => T;
}

const int =
  (min: number, max: number) =>
  (raw: string, name: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected an integer, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new ConfigError(name, `expected ${min}..${max}, got ${n}`);
    return n;
  };

const url =
  (...protocols: string[]) =>
  (raw: string, name: string): string => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(name, `not a URL: "${raw}"`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `expected a ${protocols.join(' or ')} URL, got "${raw}"`);
    }
    return raw.replace(/\/$/, '');
  };

const identifier = (raw: string, name: string): string => {
  if (!/^[A-Za-z0-9_]{1,64}$/.test(raw))
    throw new ConfigError(name, `expected letters, digits or _, got "${raw}"`);
  return raw;
};

const redisUrl = (raw: string, name: string): string => {
  try {
    if (clusterSeeds(raw) !== null) return raw;
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
  return url('redis:', 'rediss:')(raw, name);
};

/** An identifier, or one in braces: a Redis Cluster hash tag, every key in its slot. */
const keyPrefix = (raw: string, name: string): string => {
  const bare = raw.startsWith('{') && raw.endsWith('}') ? raw.slice(1, -1) : raw;
  identifier(bare, name);
  return raw;
};

const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string, name: string): T => {
    if (!(values as string[]).includes(raw)) {
      throw new ConfigError(name, `expected one of ${values.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  };

const text = (raw: string): string => raw;

/**
 * The development default of TF_SECRET_KEY: public (it is in this file and the README), so
 * secrets encrypted under it are as good as plaintext. NOT for production; the copy engine
 * warns when it runs with it.
 */
export const DEV_SECRET_KEY_HEX = Buffer.from('tradeflow dev key, NOT for prod!').toString('hex');

const secretKey = (raw: string, name: string): Buffer => {
  if (!/^[0-9a-fA-F]{64}$/.test(raw)) {
    // the value itself is never echoed: it may be a real key with a typo
    throw new ConfigError(name, `expected 32 bytes as 64 hex characters, got ${raw.length} characters`);
  }
  return Buffer.from(raw, 'hex');
};

/** '' (unset) or a bearer token: at least 16 characters, none of them blank. Never echoed. */
const operatorToken = (raw: string, name: string): string => {
  if (raw !== '' && !/^\S{16,}$/.test(raw)) {
    throw new ConfigError(
      name,
      `expected at least 16 characters without spaces, got ${raw.length} characters`,
    );
  }
  return raw;
};

const decimal = (raw: string, name: string): string => {
  if (!/^\d+(\.\d+)?$/.test(raw)) throw new ConfigError(name, `expected a decimal like 0.001, got "${raw}"`);
  return raw;
};

const signedDecimal = (raw: string, name: string): string => {
  if (!/^-?\d+(\.\d+)?$/.test(raw))
    throw new ConfigError(name, `expected a decimal like -0.05, got "${raw}"`);
  return raw;
};

/**
 * Lead levels, lowest first, comma-separated; each `maxCopiers:maxShare` (level 1: no
 * requirement) or `maxCopiers:maxShare:minAverageAum90d:minCopiers:forDays`.
 */
const levelRules = (raw: string, name: string): readonly LevelRule[] => {
  const levels = raw.split(',').map((part, i) => {
    const f = part.trim().split(':');
    const at = `level ${i + 1} ("${part.trim()}")`;
    const whole = (v: string | undefined) =>
      v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : Number.NaN;
    const dec = (v: string | undefined) => v !== undefined && /^\d+(\.\d+)?$/.test(v);
    const maxCopiers = whole(f[0]);
    if ((f.length !== 2 && f.length !== 5) || !(maxCopiers >= 1) || !dec(f[1]) || Number(f[1]) > 0.3) {
      throw new ConfigError(
        name,
        `${at}: expected maxCopiers:maxShare[:minAum:minCopiers:days], share at most 0.3`,
      );
    }
    if (f.length === 2) {
      return {
        level: i + 1,
        maxCopiers,
        profitShareRatio: f[1] as string,
        minAverageAum90d: null,
        minCopiers: 0,
        copiersForDays: 0,
      };
    }
    const minCopiers = whole(f[3]);
    const days = whole(f[4]);
    if (!dec(f[2]) || !(minCopiers >= 0) || !(days >= 0 && days <= 90)) {
      throw new ConfigError(name, `${at}: minAum a decimal, minCopiers and days (0..90) integers`);
    }
    return {
      level: i + 1,
      maxCopiers,
      profitShareRatio: f[1] as string,
      minAverageAum90d: f[2] as string,
      minCopiers,
      copiersForDays: days,
    };
  });
  if (levels.length > 3) throw new ConfigError(name, `at most 3 levels, got ${levels.length}`);
  return Object.freeze(levels) as readonly LevelRule[];
};

const s = <T>(name: string, fallback: string, parse: Setting<T>['parse'], doc: string): Setting<T> => ({
  name,
  fallback,
  parse,
  doc,
});

/** The table of settings; README's settings table is printed from it (`tradeflow config`). */
export const settings = {
  mysqlUrl: s(
    'TF_MYSQL_URL',
    'mysql://root@127.0.0.1:3306',
    url('mysql:'),
    'MySQL/MariaDB server (no database part)',
  ),
  engineDb: s('TF_ENGINE_DB', 'tradeflow', identifier, "the engine's database"),
  counterDb: s('TF_COUNTER_DB', 'tradeflow_counter', identifier, "the (simulated) counter's database"),
  counterMysqlUrl: s(
    'TF_COUNTER_MYSQL_URL',
    '',
    (raw, name) => (raw === '' ? '' : url('mysql:')(raw, name)),
    "MySQL/MariaDB server of the counter's database, when it is not TF_MYSQL_URL (the counter with a binlog that Canal or Debezium reads); empty: TF_MYSQL_URL",
  ),
  redisUrl: s(
    'TF_REDIS_URL',
    'redis://127.0.0.1:6379',
    redisUrl,
    'Redis server, or a Redis Cluster as redis-cluster://host:port[,host:port…] (seed nodes)',
  ),
  redisPrefix: s(
    'TF_REDIS_PREFIX',
    'tf',
    keyPrefix,
    'prefix of every Redis key (streams, BullMQ, locks); on a Redis Cluster a hash tag, {tf}',
  ),
  logLevel: s(
    'TF_LOG_LEVEL',
    'info',
    oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'),
    'pino log level',
  ),
  shards: s('TF_SHARDS', '16', int(1, 1024), "number of shards of the counter's sync-order table"),
  pollIntervalMs: s('TF_POLL_INTERVAL_MS', '100', int(1, 60_000), 'intake poller: pause between reads'),
  pollGapWaitMs: s(
    'TF_POLL_GAP_WAIT_MS',
    '5000',
    int(0, 600_000),
    'intake poller: how long to keep asking for an id skipped by a later commit',
  ),
  pollBatch: s('TF_POLL_BATCH', '1000', int(1, 100_000), 'intake poller: rows read at most per poll'),
  source: s(
    'TF_SOURCE',
    'poll',
    oneOf('poll', 'kafka', 'both', 'none'),
    'intake: poll the counter table, consume Kafka, both, or none (a process of step workers only)',
  ),
  reconcileIntervalMs: s(
    'TF_RECONCILE_INTERVAL_MS',
    '3000',
    int(100, 3_600_000),
    'how often the reconciler runs',
  ),
  reconcileWindowMs: s(
    'TF_RECONCILE_WINDOW_MS',
    '30000',
    int(0, 86_400_000),
    'reconciler: a row gets its last look once this much older than now less the grace (a first pass lists from the watermark less this)',
  ),
  reconcileLagMs: s(
    'TF_RECONCILE_LAG_MS',
    '3000',
    int(0, 3_600_000),
    'reconciler: each pass lists again this far before where the last one ended, for rows committed (or dated by the counter) late; a row visible within grace + this after its created_ms is found at once',
  ),
  reconcileGraceMs: s(
    'TF_RECONCILE_GRACE_MS',
    '1000',
    int(0, 3_600_000),
    'reconciler: orders younger than this are left to the primary source',
  ),
  maxClockSkewMs: s(
    'TF_MAX_CLOCK_SKEW_MS',
    '60000',
    int(0, 86_400_000),
    "intake: a counter row dated further than this ahead of the engine's clock is rejected (the reconciler takes it in once due); no watermark passes now + this",
  ),
  kafkaBrokers: s('TF_KAFKA_BROKERS', '127.0.0.1:9092', text, 'Kafka brokers, comma-separated host:port'),
  kafkaTopic: s('TF_KAFKA_TOPIC', 'counter.sync_order', text, "topic of the counter table's change messages"),
  kafkaGroup: s('TF_KAFKA_GROUP', 'tradeflow-intake', text, 'Kafka consumer group of the intake'),
  kafkaReconnectMaxMs: s(
    'TF_KAFKA_RECONNECT_MAX_MS',
    '30000',
    int(100, 3_600_000),
    'Kafka intake: longest wait between connection attempts while no broker answers (doubling from 500 ms, with jitter)',
  ),
  kafkaSessionTimeoutMs: s(
    'TF_KAFKA_SESSION_TIMEOUT_MS',
    '30000',
    int(6000, 300_000),
    "Kafka intake: how long the group waits for a silent consumer (a killed engine) before its partitions go to the others (within the broker's group.min/max.session.timeout.ms)",
  ),
  kafkaMaxLag: s(
    'TF_KAFKA_MAX_LAG',
    '10000',
    int(1, 10_000_000),
    'a partition pauses while the first step stream holds more entries than this',
  ),
  cdcFormat: s(
    'TF_CDC_FORMAT',
    'canal',
    oneOf('canal', 'debezium'),
    'format of the counter change messages in Kafka',
  ),
  cdcMaxBytes: s(
    'TF_CDC_MAX_BYTES',
    '1048576',
    int(1024, 64 * 1048576),
    'a change message larger than this is dead-lettered unread',
  ),
  stepConcurrency: s(
    'TF_STEP_CONCURRENCY',
    '64',
    int(1, 10_000),
    'downstream calls in flight per process, per step on average: the four steps share 4 × this many',
  ),
  outcomeWriters: s(
    'TF_OUTCOME_WRITERS',
    '2',
    int(1, 64),
    'step-outcome transactions in flight per process (fewer: bigger batches, fewer commits)',
  ),
  retryMaxAttempts: s(
    'TF_RETRY_MAX_ATTEMPTS',
    '8',
    int(1, 1000),
    'attempts of a step before the order is parked MANUAL',
  ),
  retryBaseMs: s(
    'TF_RETRY_BASE_MS',
    '200',
    int(1, 3_600_000),
    'first retry delay; doubles each attempt, with jitter',
  ),
  retryMaxMs: s('TF_RETRY_MAX_MS', '10000', int(1, 3_600_000), 'largest retry delay'),
  claimIdleMs: s(
    'TF_CLAIM_IDLE_MS',
    '10000',
    int(100, 3_600_000),
    'a pending stream entry idle this long is claimed',
  ),
  claimIntervalMs: s('TF_CLAIM_INTERVAL_MS', '1000', int(50, 3_600_000), 'how often each step worker claims'),
  recoveryIdleMs: s(
    'TF_RECOVERY_IDLE_MS',
    '30000',
    int(100, 86_400_000),
    'an unfinished order untouched this long is redriven from MySQL',
  ),
  recoveryIntervalMs: s(
    'TF_RECOVERY_INTERVAL_MS',
    '5000',
    int(50, 3_600_000),
    'how often the recovery scan runs',
  ),
  drainTimeoutMs: s(
    'TF_DRAIN_TIMEOUT_MS',
    '10000',
    int(0, 600_000),
    'on SIGTERM: time given to in-flight steps',
  ),
  httpTimeoutMs: s(
    'TF_HTTP_TIMEOUT_MS',
    '2000',
    int(1, 600_000),
    'timeout of one downstream call, once it has a connection',
  ),
  httpConnections: s(
    'TF_HTTP_CONNECTIONS',
    '32',
    int(1, 4096),
    'keep-alive connections per downstream origin (services on one origin share them)',
  ),
  counterUrl: s('TF_COUNTER_URL', 'http://127.0.0.1:7400', url('http:', 'https:'), 'counter service'),
  fundingUrl: s('TF_FUNDING_URL', 'http://127.0.0.1:7400', url('http:', 'https:'), 'funding service'),
  tradeUrl: s('TF_TRADE_URL', 'http://127.0.0.1:7400', url('http:', 'https:'), 'spot trade service'),
  coordinatorTtlMs: s(
    'TF_COORDINATOR_TTL_MS',
    '3000',
    int(300, 600_000),
    'lock TTL of the settlement coordinator and of the copy fan-out; the holder extends it every third, a successor takes over within TTL + a third',
  ),
  trimIntervalMs: s(
    'TF_TRIM_INTERVAL_MS',
    '5000',
    int(50, 3_600_000),
    'how often the coordinator trims the step streams below their oldest unfinished entry',
  ),
  boardHost: s('TF_BOARD_HOST', '127.0.0.1', text, 'Bull Board: address to bind'),
  boardPort: s(
    'TF_BOARD_PORT',
    '9465',
    int(0, 65_535),
    'Bull Board: port (`tradeflow board`, `start --board`)',
  ),
  boardAuth: s(
    'TF_BOARD_AUTH',
    '',
    text,
    'Bull Board: `token:SECRET` or `basic:USER:PASSWORD`; required when TF_BOARD_HOST is not loopback',
  ),
  opsHost: s('TF_OPS_HOST', '127.0.0.1', text, 'engine: address of /metrics, /healthz, /readyz'),
  opsPort: s('TF_OPS_PORT', '9464', int(0, 65_535), 'engine: port of /metrics, /healthz, /readyz (0: off)'),
  copyOpsPort: s(
    'TF_COPY_OPS_PORT',
    '9466',
    int(0, 65_535),
    'copy engine: port of its /metrics, /healthz, /readyz on TF_OPS_HOST (0: off)',
  ),
  exchangeUrl: s(
    'TF_EXCHANGE_URL',
    'http://127.0.0.1:7400',
    url('http:', 'https:'),
    'copy trading: the derivatives exchange',
  ),
  copyIngressHost: s(
    'TF_COPY_INGRESS_HOST',
    '127.0.0.1',
    text,
    "copy trading: address of the traders' WebSocket",
  ),
  copyIngressPort: s(
    'TF_COPY_INGRESS_PORT',
    '7410',
    int(0, 65_535),
    'copy trading: port of /traders (signals) (0: any free port)',
  ),
  copyApiHost: s('TF_COPY_API_HOST', '127.0.0.1', text, "copy trading: address of the copiers' HTTP API"),
  copyApiPort: s(
    'TF_COPY_API_PORT',
    '7411',
    int(0, 65_535),
    "copy trading: port of the copiers' HTTP API (0: any free port)",
  ),
  copyFrameMaxBytes: s(
    'TF_COPY_FRAME_MAX_BYTES',
    '4096',
    int(256, 65_536),
    'copy trading: a trader frame larger than this is refused unparsed',
  ),
  copyMaxSkewMs: s(
    'TF_COPY_MAX_SKEW_MS',
    '10000',
    int(1000, 300_000),
    "copy trading: how far a frame's ts may be from the server clock",
  ),
  copySeenTtlMs: s(
    'TF_COPY_SEEN_TTL_MS',
    '86400000',
    int(2000, 30 * 86_400_000),
    'copy trading: how long a signal id is remembered for deduplication',
  ),
  copyFillEventsUrl: s(
    'TF_COPY_FILL_EVENTS_URL',
    '',
    text,
    "copy trading: the trading system's fill events (ws://…/exchange/events; empty: off)",
  ),
  copyLeadersRefreshMs: s(
    'TF_COPY_LEADERS_REFRESH_MS',
    '5000',
    int(100, 3_600_000),
    'copy trading: how often the table of lead traders is reloaded',
  ),
  copyBookReloadMs: s(
    'TF_COPY_BOOK_RELOAD_MS',
    '60000',
    int(0, 3_600_000),
    'copy trading: how often the fan-out reloads every lead, copier and follow (changes missed on copy:changed, e.g. while reconnecting; 0: only on resubscribe)',
  ),
  copyBatchSize: s(
    'TF_COPY_BATCH_SIZE',
    '250',
    int(1, 1000),
    'copy trading: orders per exchange batch (the batches of one signal go in parallel)',
  ),
  copyPartitions: s(
    'TF_COPY_PARTITIONS',
    '1',
    int(1, 64),
    'copy trading: partitions of the fan-out by copier (hash of the copier id); every `tradeflow copy` of a deployment must use the same; each process holds at most ceil(P / live processes)',
  ),
  copyPauseAfterRefusals: s(
    'TF_COPY_PAUSE_AFTER_REFUSALS',
    '5',
    int(0, 1000),
    'copy trading: copies of a follow the exchange refuses in a row for the same reason (its code) before the follow is paused, with a notice naming the reason and the count; a fill in between starts the count again (0: never paused)',
  ),
  copyPriceRefreshMs: s(
    'TF_COPY_PRICE_REFRESH_MS',
    '100',
    int(10, 60_000),
    "copy trading: how often the copy engine reads the exchange's mark prices: what sizing reads, and what the copiers' stops (take profit, stop loss, equity stop, daily loss limit) are checked on after each read",
  ),
  copyDriftIntervalMs: s(
    'TF_COPY_DRIFT_INTERVAL_MS',
    '1000',
    int(0, 3_600_000),
    "copy trading, drift repair: how often the next batch of copiers is compared with the exchange and its lead's signals (0: off)",
  ),
  copyDriftBatch: s(
    'TF_COPY_DRIFT_BATCH',
    '50',
    int(1, 5000),
    'copy trading, drift repair: copiers compared per tick (a whole round after a takeover or a reconnect)',
  ),
  copyDriftLookbackMs: s(
    'TF_COPY_DRIFT_LOOKBACK_MS',
    '3600000',
    int(1000, 30 * 86_400_000),
    "copy trading, drift repair: how far back a signal's lost or partial copy is still repaired",
  ),
  copyFeeRate: s(
    'TF_COPY_FEE_RATE',
    '0.0005',
    decimal,
    "copy trading: taker fee rate used to estimate an open's fee in the balance check",
  ),
  copyAuthMaxFailures: s(
    'TF_COPY_AUTH_MAX_FAILURES',
    '20',
    int(1, 1_000_000),
    "copy trading: failed credential attempts (copiers' API and traders' socket together) an address may make per window before it gets 429",
  ),
  copyAuthWindowMs: s(
    'TF_COPY_AUTH_WINDOW_MS',
    '60000',
    int(100, 86_400_000),
    "copy trading: the window of TF_COPY_AUTH_MAX_FAILURES, from an address's first failure; Retry-After says when it ends",
  ),
  copyCredentialsRefreshMs: s(
    'TF_COPY_CREDENTIALS_REFRESH_MS',
    '60000',
    int(100, 86_400_000),
    'copy trading: how often the in-memory tokens and API keys are reloaded whole (besides on each change message)',
  ),
  copyCredentialsMissReloadMs: s(
    'TF_COPY_CREDENTIALS_MISS_RELOAD_MS',
    '2000',
    int(100, 86_400_000),
    'copy trading: an unknown token or API key reloads the credentials at most once per this, whoever sends it',
  ),
  secretKey: s(
    'TF_SECRET_KEY',
    DEV_SECRET_KEY_HEX,
    secretKey,
    "copy trading: AES-256-GCM key (64 hex characters) of the leads' signing secrets at rest; the default is a public development key, NOT for production (the copy engine logs a warning while it is used)",
  ),
  copyApiMysqlConnections: s(
    'TF_COPY_API_MYSQL_CONNECTIONS',
    '2',
    int(1, 64),
    "copy trading: MySQL connections of the copiers' API and the credential reloads (the fan-out has its own)",
  ),
  copyApiMysqlQueue: s(
    'TF_COPY_API_MYSQL_QUEUE',
    '64',
    int(1, 100_000),
    'copy trading: API queries waiting for one of those connections; one more gets 503 BUSY',
  ),
  operatorHost: s(
    'TF_OPERATOR_HOST',
    '127.0.0.1',
    text,
    'operator API (`tradeflow operator`): address to bind',
  ),
  operatorPort: s('TF_OPERATOR_PORT', '9467', int(0, 65_535), 'operator API: port (0: any free port)'),
  operatorToken: s(
    'TF_OPERATOR_TOKEN',
    '',
    operatorToken,
    'operator API: the bearer token every request must carry (16+ characters); unset, `tradeflow operator` refuses to start',
  ),
  operatorAuthMaxFailures: s(
    'TF_OPERATOR_AUTH_MAX_FAILURES',
    '10',
    int(1, 1_000_000),
    'operator API: failed token attempts an address may make per window before it gets 429',
  ),
  operatorAuthWindowMs: s(
    'TF_OPERATOR_AUTH_WINDOW_MS',
    '60000',
    int(100, 86_400_000),
    "operator API: the window of TF_OPERATOR_AUTH_MAX_FAILURES, from an address's first failure",
  ),
  profitShareCycle: s(
    'TF_PROFIT_SHARE_CYCLE',
    'weekly',
    oneOf('weekly', 'daily'),
    'profit share: settlement cycle, cut-off Monday 00:00 UTC (weekly) or every 00:00 UTC (daily); a BullMQ repeatable job run by the copy engine',
  ),
  profitShareSweepMs: s(
    'TF_PROFIT_SHARE_SWEEP_MS',
    '5000',
    int(200, 3_600_000),
    "profit share: how often the shares accrued by closes at a profit are moved from the copiers' exchange accounts to escrow",
  ),
  equitySnapshotMs: s(
    'TF_EQUITY_SNAPSHOT_MS',
    '60000',
    int(0, 86_400_000),
    "leaderboard: how often the copy engine snapshots every lead's and copier's equity on the exchange and refreshes the board (0: off)",
  ),
  leadMinDays: s(
    'TF_LEAD_MIN_DAYS',
    '30',
    int(0, 3650),
    'lead eligibility: whole days since the first trade on the exchange, at least',
  ),
  leadMinClosedPositions: s(
    'TF_LEAD_MIN_CLOSED_POSITIONS',
    '20',
    int(0, 1_000_000),
    'lead eligibility: positions closed (to 0) on the exchange, at least',
  ),
  leadMinRoi30d: s(
    'TF_LEAD_MIN_ROI_30D',
    '0',
    signedDecimal,
    'lead eligibility: 30-day ROI on the NAV curve of the wallet (deposits are flows), at least',
  ),
  leadMaxDrawdown30d: s(
    'TF_LEAD_MAX_DRAWDOWN_30D',
    '0.5',
    decimal,
    'lead eligibility: 30-day max drawdown of that NAV curve (a fraction), at most',
  ),
  leadMinBalance: s(
    'TF_LEAD_MIN_BALANCE',
    '500',
    decimal,
    'lead eligibility: USDT in the trading account now, at least',
  ),
  leadLevels: s(
    'TF_LEAD_LEVELS',
    '100:0.1,500:0.15:20000:100:7,1000:0.3:100000:500:7',
    levelRules,
    'lead levels L1,L2,L3: `maxCopiers:maxShare[:minAverageAum90d:minCopiers:days]`; a lead is at the highest level whose 90-day average AUM is above minAverageAum90d with at least minCopiers copiers on each of the last days (`tradeflow leads levels`)',
  ),
  simHost: s('TF_SIM_HOST', '127.0.0.1', text, 'simulator: address to bind'),
  simPort: s('TF_SIM_PORT', '7400', int(1, 65_535), 'simulator: port'),
  simFeeRate: s('TF_SIM_FEE_RATE', '0.001', decimal, 'simulator: trade fee rate (decimal string)'),
  simFaults: s('TF_SIM_FAULTS', '{}', text, 'simulator: initial latency/fault settings per endpoint (JSON)'),
} as const;

type Settings = typeof settings;
export type Config = Readonly<{ [K in keyof Settings]: ReturnType<Settings[K]['parse']> }>;

/** Where both engines keep their state. */
const STORES = ['mysqlUrl', 'engineDb', 'redisUrl', 'redisPrefix'] as const;

/**
 * The settings of the settlement engine (`tradeflow start`). The process around it (log
 * level, drain timeout, the board) reads its own from the whole Config.
 */
const SETTLEMENT = [
  ...STORES,
  'counterDb',
  'counterMysqlUrl',
  'shards',
  'source',
  'pollIntervalMs',
  'pollGapWaitMs',
  'pollBatch',
  'reconcileIntervalMs',
  'reconcileWindowMs',
  'reconcileGraceMs',
  'reconcileLagMs',
  'maxClockSkewMs',
  'kafkaBrokers',
  'kafkaTopic',
  'kafkaGroup',
  'kafkaReconnectMaxMs',
  'kafkaSessionTimeoutMs',
  'kafkaMaxLag',
  'cdcFormat',
  'cdcMaxBytes',
  'stepConcurrency',
  'outcomeWriters',
  'retryMaxAttempts',
  'retryBaseMs',
  'retryMaxMs',
  'claimIdleMs',
  'claimIntervalMs',
  'recoveryIdleMs',
  'recoveryIntervalMs',
  'httpTimeoutMs',
  'httpConnections',
  'counterUrl',
  'fundingUrl',
  'tradeUrl',
  'coordinatorTtlMs',
  'trimIntervalMs',
  'opsHost',
  'opsPort',
] as const satisfies readonly (keyof Config)[];

/**
 * The settings of the copy engine (the fan-out role's work in `tradeflow copy`). The role
 * lock and the ops server around it are the command's (TF_COORDINATOR_TTL_MS, TF_OPS_HOST,
 * TF_COPY_OPS_PORT).
 */
const COPY = [
  ...STORES,
  'httpTimeoutMs',
  'httpConnections',
  'exchangeUrl',
  'copyIngressHost',
  'copyIngressPort',
  'copyApiHost',
  'copyApiPort',
  'copyFrameMaxBytes',
  'copyMaxSkewMs',
  'copySeenTtlMs',
  'copyFillEventsUrl',
  'copyLeadersRefreshMs',
  'copyBookReloadMs',
  'copyBatchSize',
  'copyPartitions',
  'copyPauseAfterRefusals',
  'copyPriceRefreshMs',
  'copyDriftIntervalMs',
  'copyDriftBatch',
  'copyDriftLookbackMs',
  'copyFeeRate',
  'copyAuthMaxFailures',
  'copyAuthWindowMs',
  'copyCredentialsRefreshMs',
  'copyCredentialsMissReloadMs',
  'secretKey',
  'copyApiMysqlConnections',
  'copyApiMysqlQueue',
  'profitShareCycle',
  'profitShareSweepMs',
  'equitySnapshotMs',
  'leadMinDays',
  'leadMinClosedPositions',
  'leadMinRoi30d',
  'leadMaxDrawdown30d',
  'leadMinBalance',
  'leadLevels',
] as const satisfies readonly (keyof Config)[];

export type SettlementSettings = Readonly<Pick<Config, (typeof SETTLEMENT)[number]>>;
export type CopySettings = Readonly<Pick<Config, (typeof COPY)[number]>>;

function view<K extends keyof Config>(config: Config, keys: readonly K[]): Readonly<Pick<Config, K>> {
  const out = {} as Pick<Config, K>;
  for (const k of keys) out[k] = config[k];
  return Object.freeze(out);
}

/** Only the settlement engine's settings: what it is given, so it cannot read another's. */
export const settlementSettings = (config: Config): SettlementSettings => view(config, SETTLEMENT);

/** Only the copy engine's settings. */
export const copySettings = (config: Config): CopySettings => view(config, COPY);

export function loadConfig(env: Env = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(settings) as [string, Setting<unknown>][]) {
    const raw = env[setting.name];
    out[key] = setting.parse(raw === undefined || raw === '' ? setting.fallback : raw, setting.name);
  }
  if (out.counterMysqlUrl === '') out.counterMysqlUrl = out.mysqlUrl;
  const config = out as Config;
  // a step still waiting on its call must not look dead, nor a retry waiting out its backoff idle
  if (config.claimIdleMs <= config.httpTimeoutMs) {
    throw new ConfigError('TF_CLAIM_IDLE_MS', `must exceed TF_HTTP_TIMEOUT_MS (${config.httpTimeoutMs})`);
  }
  if (config.recoveryIdleMs <= Math.max(config.retryMaxMs, config.claimIdleMs)) {
    throw new ConfigError('TF_RECOVERY_IDLE_MS', 'must exceed TF_RETRY_MAX_MS and TF_CLAIM_IDLE_MS');
  }
  if (clusterSeeds(config.redisUrl) !== null && !config.redisPrefix.startsWith('{')) {
    // streams read together, the Lua hand-offs and BullMQ use several keys in one command
    throw new ConfigError(
      'TF_REDIS_PREFIX',
      `on a Redis Cluster it must be a hash tag, {${config.redisPrefix}}: commands over several keys need them in one slot`,
    );
  }
  if (config.copySeenTtlMs <= config.copyMaxSkewMs) {
    throw new ConfigError(
      'TF_COPY_SEEN_TTL_MS',
      'must exceed TF_COPY_MAX_SKEW_MS (a replayed frame would pass twice)',
    );
  }
  return Object.freeze(config);
}

/** The settings as a Markdown table, for the README. */
export function settingsTable(): string {
  const rows = Object.values(settings).map((x) => `| \`${x.name}\` | \`${x.fallback}\` | ${x.doc} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
