import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';
import { waitAllFinished } from '../support/settlement.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const rulesFile = join(root, 'compose/prometheus/alerts.yml');
const dashboardFile = join(root, 'compose/grafana/dashboards/tradeflow.json');

const promtool = (...args: string[]) => {
  const r = spawnSync('promtool', args, { cwd: root, encoding: 'utf8' });
  assert.equal(r.error, undefined, `promtool could not run (scripts/test-deps.sh installs it): ${r.error}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

/** Every PromQL expression of the alerting rules and of the dashboard's panels. */
function expressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const rules = readFileSync(rulesFile, 'utf8');
  for (const m of rules.matchAll(/- alert: (\S+)\n\s+expr: (.+)\n/g)) {
    out.push({ where: `rule ${m[1]}`, expr: m[2] as string });
  }
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  for (const p of dashboard.panels)
    for (const t of p.targets ?? []) out.push({ where: p.title, expr: t.expr });
  return out;
}

describe('Prometheus: the alerting rules and the dashboard against both engines, scraped for real', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let prometheus: ChildProcess | undefined;
  let dir: string | undefined;
  let promUrl: string;
  const query = async (expr: string) => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  };

  before(async () => {
    const ingressPort = await freePort();
    // retried until they succeed: an order parked MANUAL (8 attempts lost 80 × 0.3^8, one run in
    // 200) would raise an alert the last test does not expect
    await world.setUp({
      TF_COPY_INGRESS_PORT: String(ingressPort),
      TF_RETRY_BASE_MS: '20',
      TF_RETRY_MAX_MS: '200',
      TF_RETRY_MAX_ATTEMPTS: '1000',
    });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    // some retries, so that the labelled series exist
    await world.startSim({ 'funding/transfer': { errorRate: 0.3 } });
    exchange = createExchangeClient(world.config.counterUrl);
    const trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    await seedCopiers(world.copyRows(), exchange, [
      { follow: follow('c1', 'lead1'), usdt: '10000' },
      { follow: follow('c2', 'lead1'), usdt: '1' },
    ]);
    const settlementOps = await freePort();
    const copyOps = await freePort();
    // Kafka configured but no broker on its port (none runs here): the Kafka alert has its series
    const noBroker = await freePort();
    world.spawn(['start'], {
      TF_OPS_PORT: String(settlementOps),
      TF_SOURCE: 'both',
      TF_KAFKA_BROKERS: `127.0.0.1:${noBroker}`,
    });
    world.spawn(['copy'], { TF_COPY_OPS_PORT: String(copyOps) });
    // 40 orders make 80 funding calls: with 30% failing, no retry at all has odds of 0.7^80
    // (5 orders had 0.7^10, 3%: the retries' series was then missing now and then)
    await writeCounterRows(world.counterDb, makeCounterRows(40, { flow: 'open', shards: 16, runId: 'prm' }));
    await waitAllFinished(world.engineDb, 40, 30_000, 'prm-');
    // one signal: an order for c1, a skip for c2
    const socket = await waitFor('the signal ingress', () =>
      TraderSocket.open(ingressPort, trader.apiKey, trader.secret),
    );
    try {
      const price = (await exchange.price(INSTRUMENT)).price;
      const signal = signalOf('lead1', { signalId: 'p1', price });
      await socket.send(signal);
      await waitFor('p1 fanned out', () => fannedOut(world.engineDb, 'p1@lead1'));
    } finally {
      socket.close();
    }

    // the compose file's configuration, with the test's engines as targets
    dir = mkdtempSync(join(tmpdir(), 'tf-prom-'));
    const config = readFileSync(join(root, 'compose/prometheus/prometheus.yml'), 'utf8')
      .replace('scrape_interval: 5s', 'scrape_interval: 1s')
      .replace('evaluation_interval: 15s', 'evaluation_interval: 1s')
      .replace('- alerts.yml', `- ${rulesFile}`)
      .replace('engine:9464', `127.0.0.1:${settlementOps}`)
      .replace('copy:9466', `127.0.0.1:${copyOps}`);
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    await waitFor('both targets up', async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as {
        data: { activeTargets: { health: string }[] };
      };
      return r.data.activeTargets.length === 2 && r.data.activeTargets.every((t) => t.health === 'up');
    });
  });
  after(async () => {
    prometheus?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
    await exchange?.close();
    await world.tearDown();
  });

  it('promtool checks the compose configuration and runs the rules unit tests', () => {
    const check = promtool('check', 'config', 'compose/prometheus/prometheus.yml');
    assert.equal(check.code, 0, check.out);
    const tests = promtool('test', 'rules', 'compose/prometheus/alerts.test.yml');
    assert.equal(tests.code, 0, tests.out);
    assert.match(tests.out, /SUCCESS/);
  });

  it('every metric the rules and the dashboard name is one the engines serve, and every query runs', async () => {
    const served = new Set(
      ((await (await fetch(`${promUrl}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data,
    );
    const all = expressions();
    assert.ok(all.length > 20, `only ${all.length} expressions found`);
    for (const { where, expr } of all) {
      for (const name of expr.match(/tradeflow_[a-z_]+/g) ?? []) {
        assert.ok(served.has(name), `${where}: ${name} is not served by either engine`);
      }
      const r = await query(expr);
      assert.equal(r.status, 'success', `${where}: ${expr}: ${r.error}`);
    }
  });

  it('the rules load and evaluate without error; with Kafka away, its alert alone is raised', async () => {
    type Rule = { name: string; health: string; lastError?: string; state: string };
    const rules = async (): Promise<Rule[]> => {
      const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
        data: { groups: { rules: Rule[] }[] };
      };
      return r.data.groups.flatMap((g) => g.rules);
    };
    const evaluated = await waitFor('every rule evaluated', async () => {
      const list = await rules();
      return list.length === 9 && list.every((x) => x.health !== 'unknown') ? list : undefined;
    });
    for (const rule of evaluated) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`);
    // a rule evaluated before the first scrape saw its series absent: pending, until the next evaluations
    let raised: string[] = [];
    await waitFor(
      'the Kafka alert alone raised',
      async () => {
        raised = (await rules()).filter((r) => r.state !== 'inactive').map((r) => r.name);
        return raised.length === 1 && raised[0] === 'TradeflowKafkaSourceDown';
      },
      15_000,
      500,
    ).catch(() => assert.deepEqual(raised, ['TradeflowKafkaSourceDown']));
  });
});
