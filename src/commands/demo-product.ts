import { randomBytes } from 'node:crypto';
import { createExchangeClient, type InstrumentId } from '../clients/exchange.js';
import { createSimAdmin } from '../clients/sim-admin.js';
import type { Config } from '../config.js';
import { fx, fxStr } from '../copytrade/domain/fixed.js';
import type { TraderSignal } from '../copytrade/domain/signal.js';
import { signalKeyOf } from '../copytrade/fanout/fanout.js';
import { BoardStore } from '../copytrade/leaderboard/board-store.js';
import { computeEntries } from '../copytrade/leaderboard/history.js';
import type { StatementRow } from '../copytrade/profit-share/pair-store.js';
import type { Pool } from '../infra/mysql/client.js';
import type { RedisClient } from '../infra/redis.js';
import { fannedOut, INSTRUMENT, signalOf, TraderSocket } from '../load/copy-world.js';
import { pastHistory } from '../load/lead-history.js';
import { spawnTradeflow, stopChild } from './children.js';

/**
 * The product half of the demo (issue 12), on the simulator already running, every step over
 * the interfaces a user and an operator have (the copiers' API, the operator API), none in SQL:
 * four users with past trading on the exchange apply to lead (one too new: refused, its
 * failing criterion shown), the operator approves the others, copiers choose from the
 * leaderboard and follow, the leads trade (wins and losses), one copier stops mid-cycle, the
 * operator runs a settlement, and the demo prints the board's top 5 and every pair's
 * statement. True only if the money checks hold: per pair, payout + refund = withheld; each
 * funding key applied once; the exchange's ledger conserved.
 */
export interface ProductDemoDeps {
  config: Config;
  engineDb: Pool;
  childEnv: NodeJS.ProcessEnv;
  say: (line: string) => void;
  until: <T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string) => Promise<T>;
}

/** an answer of our own APIs, read field by field */
// biome-ignore lint/suspicious/noExplicitAny: the demo reads the APIs' JSON as their documentation shows it
type Json = Record<string, any>;

const RUN = randomBytes(2).toString('hex');
/** The would-be leads: days of past trading, and their record (the last one is too new to lead). */
/** every id of this demo starts so: an earlier run's rows are found and removed by it */
const PREFIX = 'demo-p-';
const APPLICANTS = [
  { id: `${PREFIX}ann`, days: 120, closes: 40, pnl: (i: number) => (i % 4 === 3 ? '-30' : '45') },
  { id: `${PREFIX}bo`, days: 90, closes: 30, pnl: (i: number) => (i % 3 === 2 ? '-20' : '25') },
  { id: `${PREFIX}cy`, days: 60, closes: 25, pnl: (i: number) => (i % 2 === 1 ? '-10' : '18') },
  { id: `${PREFIX}dee`, days: 12, closes: 24, pnl: () => '30' },
];
const COPIERS = 12;
const MARGIN = '100';

export async function productDemo({
  config,
  engineDb,
  childEnv,
  say,
  until,
}: ProductDemoDeps): Promise<boolean> {
  const exchange = createExchangeClient(config.exchangeUrl, { connections: 8 });
  const admin = createSimAdmin(config.counterUrl);
  const opToken = randomBytes(24).toString('hex');
  const env = {
    ...childEnv,
    TF_OPERATOR_TOKEN: opToken,
    TF_EQUITY_SNAPSHOT_MS: '500',
    TF_PROFIT_SHARE_SWEEP_MS: '300',
  };
  const api = `http://127.0.0.1:${config.copyApiPort}`;
  const ops = `http://127.0.0.1:${config.operatorPort}`;
  const call = async (base: string, method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json as Json;
  };
  const operator = (method: string, path: string, body?: unknown) => call(ops, method, path, opToken, body);
  const children: ReturnType<typeof spawnTradeflow>[] = [];
  const sockets: TraderSocket[] = [];
  try {
    children.push(spawnTradeflow(['copy'], env), spawnTradeflow(['operator'], env));
    await until(
      () =>
        fetch(`${ops}/operator/users/nobody`, { headers: { authorization: `Bearer ${opToken}` } }).then(
          () => true,
        ),
      30_000,
      'the operator API',
    );

    // users, registered by the operator; each has an exchange account with its past
    const tokens = new Map<string, string>();
    const now = Date.now();
    for (const a of APPLICANTS) {
      const { request, wallet } = pastHistory(
        { account: a.id, days: a.days, closes: a.closes, deposit: '20000', pnl: a.pnl },
        now,
      );
      const user = await operator('POST', '/operator/users', { userId: a.id });
      tokens.set(a.id, user.token);
      await exchange.createAccount({ account: a.id, balances: { USDT: wallet } });
      await exchange.importHistory(request);
    }
    const copierIds = Array.from({ length: COPIERS }, (_, i) => `${PREFIX}f${i}`);
    for (const id of copierIds) {
      const user = await operator('POST', '/operator/users', { userId: id });
      tokens.set(id, user.token);
      await exchange.createAccount({ account: id, balances: { USDT: '5000' } });
    }
    await until(() => fetch(`${api}/leaderboard`).then((r) => r.ok || undefined), 30_000, 'the copy engine');
    say(`\nproduct: ${APPLICANTS.length} users with past trading apply to lead, ${COPIERS} copiers`);

    // applications: eligibility from each user's history on the exchange
    const approved: { id: string; apiKey: string; secret: string }[] = [];
    for (const [i, a] of APPLICANTS.entries()) {
      const { application } = await call(api, 'POST', '/lead-applications', tokens.get(a.id) as string, {
        instruments: [INSTRUMENT],
        profitShareRatio: ['0.1', '0.08', '0.05', '0.1'][i],
        visibility: 'public',
        minCopyAmount: '50',
        signalSource: 'frames',
        onLiquidation: 'close',
      });
      const failed = application.eligibility.criteria.filter((c: { passed: boolean }) => !c.passed);
      if (application.status === 'ineligible') {
        say(
          `  ${a.id}: refused, ${failed.map((c: Record<string, string>) => `${c.name} ${c.value} (needs ${c.comparison} ${c.threshold})`).join(', ')}`,
        );
        continue;
      }
      const approval = await operator(
        'POST',
        `/operator/lead-applications/${application.applicationId}/approve`,
        {
          reason: 'record checked',
        },
      );
      approved.push({ id: a.id, ...approval.credentials });
      const roi = application.eligibility.criteria.find((c: { name: string }) => c.name === 'roi30d')?.value;
      say(`  ${a.id}: eligible (30-day ROI ${roi}), approved at level ${approval.level}`);
    }

    // copiers choose from the leaderboard: the top two by 30-day ROI
    const board = await until(
      async () => {
        const b = (await (await fetch(`${api}/leaderboard?metric=roi&window=30d&limit=20`)).json()) as {
          items: { traderId: string; roi: string }[];
        };
        const ours = b.items.filter((l) => approved.some((a) => a.id === l.traderId));
        return ours.length === approved.length ? ours : undefined;
      },
      30_000,
      'the approved leads on the leaderboard',
    );
    const [first, second] = board.map((l) => l.traderId) as [string, string];
    for (const [i, id] of copierIds.entries()) {
      const picks = i % 3 === 2 ? [first, second] : [i % 3 === 0 ? first : second];
      for (const lead of picks) {
        await call(api, 'PUT', `/follows/${lead}`, tokens.get(id) as string, {
          sizing: { mode: 'fixed-amount', margin: MARGIN },
          leverage: 10,
          marginMode: 'cross',
          positionMode: 'one-way',
          instruments: [INSTRUMENT],
          maxPositionValue: '100000',
          maxSlippage: '0.03',
          account: { type: 'main' },
        });
      }
    }
    say(`copiers follow ${first} and ${second}, the board's top two by 30-day ROI (a third of them both)`);

    // the leads trade: wins and losses, one copier stops mid-cycle
    for (const l of approved)
      sockets.push(await TraderSocket.open(config.copyIngressPort, l.apiKey, l.secret));
    const position = new Map<string, number>();
    let n = 0;
    const trade = async (lead: string, action: 'open' | 'close', qty: number) => {
      const socket = sockets[approved.findIndex((l) => l.id === lead)] as TraderSocket;
      const before = position.get(lead) ?? 0;
      const price = (await exchange.price(INSTRUMENT as InstrumentId)).price;
      const signal: TraderSignal = signalOf(lead, {
        signalId: `${RUN}-${n++}`,
        action,
        qty: String(qty),
        price,
        positionBefore: String(before),
      });
      const ack = await socket.send(signal);
      if (ack.type !== 'ack') throw new Error(`signal refused: ${JSON.stringify(ack)}`);
      position.set(lead, action === 'open' ? before + qty : before - qty);
      const key = signalKeyOf(lead, signal.signalId);
      await until(async () => (await fannedOut(engineDb, key)) || undefined, 30_000, `signal ${key}`);
    };
    const at = (price: string) => admin.setPrice('BTC', price, { hold: true });
    const leads = approved.map((l) => l.id);
    await at('50000');
    for (const l of leads) await trade(l, 'open', 2);
    await at('51500');
    await trade(first, 'close', 2);
    await trade(second, 'close', 1);
    await at('49000');
    await trade(second, 'close', 1);
    for (const l of leads.filter((x) => x !== first && x !== second)) await trade(l, 'close', 2);
    await trade(first, 'open', 2);
    await trade(second, 'open', 2);
    await at('52500');
    await trade(first, 'close', 1);
    await trade(second, 'close', 2);
    const stopper = copierIds[0] as string;
    await call(api, 'DELETE', `/follows/${first}?slices=close`, tokens.get(stopper) as string);
    await at('53000');
    await trade(first, 'close', 1);
    say(
      `the leads traded ${n} signals at held prices (50000 → 51500 → 49000 → 52500 → 53000); ${stopper} stopped following ${first} mid-cycle`,
    );

    // the operator settles the period now (the weekly cycle's job does this at Monday 00:00 UTC)
    const settle = await operator('POST', '/operator/profit-share/settle', {});
    say(`settlement ${settle.period}: ${settle.settled} pairs settled, ${settle.deferred} deferred`);

    const top = (await (await fetch(`${api}/leaderboard?metric=roi&window=30d&limit=5`)).json()) as {
      items: Json[];
    };
    say('\nleaderboard, top 5 by 30-day ROI:  lead  roi  pnl  win rate  max drawdown  copiers  copy quality');
    for (const l of top.items) {
      say(
        `  ${l.traderId}  ${l.roi}  ${l.pnl}  ${l.winRate}  ${l.maxDrawdown}  ${l.copiers}  ${JSON.stringify(l.copyQuality)}`,
      );
    }

    say('\nstatements (period, copier → lead: cumulative PnL, high-water mark, withheld, paid, refunded):');
    let balanced = true;
    let withheld = 0n;
    let moved = 0n;
    for (const lead of leads) {
      const { statements } = (await operator('GET', `/operator/profit-share/statements?trader=${lead}`)) as {
        statements: StatementRow[];
      };
      const latest = new Map<string, StatementRow>();
      for (const s of statements) {
        const prev = latest.get(s.copierId);
        if (!prev || prev.createdMs <= s.createdMs) latest.set(s.copierId, s);
        say(
          `  ${s.period} ${s.copierId} → ${lead}: pnl ${s.cumulativePnl}, hwm ${s.highWaterMark}, withheld ${s.withheld}, paid ${s.paid}, refunded ${s.refunded} (${s.status}${s.reason ? `: ${s.reason}` : ''}, by ${s.by})`,
        );
      }
      for (const s of latest.values()) {
        withheld += fx(s.withheld);
        moved += fx(s.paid) + fx(s.refunded) + fx(s.escrow);
        if (fx(s.withheld) !== fx(s.paid) + fx(s.refunded) + fx(s.escrow)) balanced = false;
      }
    }
    const transfers = await exchange.transfers('ps:');
    const ledger = await exchange.ledger();
    say(
      `\nmoney: withheld ${fxStr(withheld)} = paid + refunded + still in escrow ${fxStr(moved)} ${balanced ? '(every pair)' : 'NOT for every pair'}; ` +
        `${transfers.transfers.length} funding transfers, keys applied twice: ${transfers.duplicatedKeys}; exchange ledger conserved ${ledger.conserved}`,
    );
    return (
      approved.length === APPLICANTS.length - 1 &&
      withheld > 0n &&
      balanced &&
      withheld === moved &&
      transfers.duplicatedKeys === 0 &&
      ledger.conserved
    );
  } finally {
    for (const s of sockets) s.close();
    for (const c of children) await stopChild(c);
    await admin.setPrice('BTC', '50000').catch(() => undefined);
    await admin.close();
    await exchange.close();
  }
}

/** Each table's column naming a user, a lead or an account of this demo. */
const DEMO_ROWS: Record<string, string[]> = {
  copy_copier: ['copier_id'],
  copy_trader: ['trader_id'],
  copy_follow: ['copier_id'],
  copy_slice: ['copier_id'],
  copy_order: ['copier_id'],
  copy_skip: ['copier_id'],
  copy_signal: ['trader_id'],
  copy_lead_application: ['user_id'],
  copy_lead_status: ['trader_id'],
  copy_lead_review: ['trader_id'],
  copy_invite: ['trader_id'],
  copy_ps_pair: ['copier_id'],
  copy_ps_statement: ['copier_id'],
  copy_equity_snapshot: ['account_id'],
  copy_lead_day: ['trader_id'],
  copy_notice: ['user_id'],
};

/**
 * An earlier run's users, leads and their rows: the simulator is new, so their exchange
 * accounts are gone. Removed before any copy engine starts (it would load their follows),
 * and the board rebuilt without them.
 */
export async function forgetProductRuns(db: Pool, redis: RedisClient, prefix: string): Promise<void> {
  for (const [table, columns] of Object.entries(DEMO_ROWS)) {
    for (const column of columns)
      await db.query(`DELETE FROM ${table} WHERE ${column} LIKE ?`, [`${PREFIX}%`]);
  }
  await new BoardStore(redis, prefix).replace(await computeEntries(db));
}
