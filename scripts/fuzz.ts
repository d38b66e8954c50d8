/**
 * npm run fuzz [-- --seed N] [--inputs 10000] [--timeout-ms 5000] [--json]
 *
 * A network fuzz of every input tradeflow takes, in a world of its own (databases tf_fuzz*,
 * Redis prefix tffuzz): the simulator, the settlement engine with its ops server and Bull
 * Board (`start --board`) and the copy engine run as child processes; seeded generated inputs
 * go to the trader socket, the copiers' API and /stream, Bull Board and the ops endpoints,
 * one at a time. Each must get its answer (an error frame, a 4xx, a documented close) within
 * the timeout: a 5xx, a hang, an unexpected close or a process exit is a defect. A process
 * that exits is recorded with the input that killed it and started again; later inputs of
 * that same class are skipped (counted) so that one crash does not hide the next defect.
 * At the end one valid signal must still be copied to a copier the fuzz never touched.
 * Exit 1 on any defect. Everything listens on 127.0.0.1; all is removed afterwards.
 */
import { parseArgs } from 'node:util';
import { signalKeyOf } from '../src/copytrade/fanout/fanout.js';
import { buildFrame } from '../src/copytrade/ingress/frame.js';
import { INSTRUMENT } from '../src/load/copy-world.js';
import { type Ctx, generate, type Input } from './fuzz/inputs.js';
import { Session } from './fuzz/wire.js';
import { type Exit, LEAD, sleep, World } from './fuzz/world.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1203' },
    inputs: { type: 'string', default: '10000' },
    'timeout-ms': { type: 'string', default: '5000' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npm run fuzz [-- --seed N] [--inputs 10000] [--timeout-ms 5000] [--json]\n');
  process.exit(0);
}
const SEED = Number(values.seed);
const INPUTS = Number(values.inputs);
const TIMEOUT_MS = Number(values['timeout-ms']);
/** the whole run, set-up and final check included */
const DEADLINE_MS = 10 * 60_000;
const say = (s: string) => process.stderr.write(`${s}\n`);

interface Finding {
  note?: boolean;
  target: string;
  cls: string;
  outcome: string;
  input: string;
  detail?: string;
}

interface Crash {
  proc: string;
  code: number | null;
  signal: string | null;
  cls: string;
  input: string;
  stderrTail: string;
}

async function main(): Promise<number> {
  const started = Date.now();
  const inputs = generate(SEED, INPUTS);
  say(`fuzz: seed ${SEED}, ${inputs.length} inputs`);
  const world = await World.create(say);
  const counts: Record<string, Record<string, number>> = {};
  const findings: Finding[] = [];
  const crashes: Crash[] = [];
  const crashClasses = new Set<string>();
  let skipped = 0;
  let trader: Session | null = null;
  let pendingExit: Exit | null = null;
  world.onExit = (e) => {
    pendingExit = e;
  };
  const count = (target: string, outcome: string, by = 1) => {
    counts[target] ??= {};
    const t = counts[target];
    t[outcome] = (t[outcome] ?? 0) + by;
  };
  const lead = world.secrets.get(LEAD) as { apiKey: string; secret: string };
  const ctx: Ctx = {
    ports: world.ports,
    secrets: world.secrets,
    timeoutMs: TIMEOUT_MS,
    async trader() {
      if (trader === null || trader.closed) {
        trader = await Session.open(
          `ws://127.0.0.1:${world.ports.ingress}/traders?apiKey=${lead.apiKey}`,
          TIMEOUT_MS,
        );
      }
      return trader;
    },
  };
  let copiedFinal = false;
  let sent = 0;
  try {
    let previous: { input: Input; outcome: string } | null = null;
    const lastTo = new Map<string, { input: Input; outcome: string }>();
    for (const input of inputs) {
      if (Date.now() - started > DEADLINE_MS - 60_000) {
        say('fuzz: time is up, the remaining inputs are not sent');
        break;
      }
      if (crashClasses.has(`${input.target}|${routeOf(input.cls)}`)) {
        skipped++;
        count(input.target, 'skipped-known-crash');
        continue;
      }
      let r = await input.run(ctx).catch((err: Error) => ({
        outcome: 'fuzz-error',
        ok: false,
        detail: err.message,
        refused: /did not open/.test(err.message),
      }));
      sent++;
      // a failed connection may mean the process is gone: give its exit a moment to be seen
      if (!r.ok && !world.alive(input.proc)) await sleep(0);
      if (
        !r.ok &&
        world.alive(input.proc) &&
        (r.outcome === 'refused' || r.outcome === 'reset' || r.outcome === 'closed')
      )
        await sleep(300);
      const exit = pendingExit as Exit | null;
      if (exit !== null) {
        pendingExit = null;
        // refused, closed, or another process's input: it died before, so the last input sent to it killed it
        const last = lastTo.get(exit.proc);
        const culprit: { input: Input; outcome: string } =
          (r.refused || input.proc !== exit.proc || r.outcome === 'closed') && last
            ? last
            : { input, outcome: r.outcome };
        if (culprit.input !== input) {
          count(culprit.input.target, culprit.outcome, -1);
          count(culprit.input.target, 'crash');
          count(input.target, 'not-sent-process-down');
        } else r = { outcome: 'crash', ok: false, detail: r.outcome };
        crashClasses.add(`${culprit.input.target}|${routeOf(culprit.input.cls)}`);
        crashes.push({
          proc: exit.proc,
          code: exit.code,
          signal: exit.signal,
          cls: culprit.input.cls,
          input: culprit.input.show,
          stderrTail: exit.stderrTail,
        });
        say(
          `fuzz: ${exit.proc} exited (code ${exit.code}, signal ${exit.signal}) after ${culprit.input.target} ${culprit.input.show}`,
        );
        (trader as Session | null)?.close();
        trader = null;
        await world.restart(exit.proc);
        say(`fuzz: ${exit.proc} started again`);
        if (culprit.input !== input) {
          previous = null;
          continue;
        }
      }
      count(input.target, r.outcome);
      if ((!r.ok || (r as { note?: boolean }).note) && r.outcome !== 'crash')
        findings.push({
          note: (r as { note?: boolean }).note,
          target: input.target,
          cls: input.cls,
          outcome: r.outcome,
          input: input.show,
          detail: r.detail,
        });
      previous = { input, outcome: r.outcome };
      lastTo.set(input.proc, previous);
      if (sent % 1000 === 0) say(`fuzz: ${sent} sent, ${findings.length} defects, ${crashes.length} exits`);
    }
    (trader as Session | null)?.close();
    copiedFinal = await finalSignal(world, lead, say);
  } finally {
    await world.tearDown();
  }

  const total = (pred: (o: string) => boolean) =>
    Object.values(counts).reduce(
      (a, t) => a + Object.entries(t).reduce((b, [o, n]) => b + (pred(o) ? n : 0), 0),
      0,
    );
  const fiveXX = total((o) => o === '5xx');
  const hangs = total((o) => o === 'hang');
  const summary = {
    seed: SEED,
    inputs: inputs.length,
    sent,
    skippedKnownCrash: skipped,
    seconds: Math.round((Date.now() - started) / 1000),
    processExits: world.exits.length,
    fiveXX,
    hangs,
    otherDefects: findings.filter((f) => !f.note && f.outcome !== '5xx' && f.outcome !== 'hang').length,
    notes: findings.filter((f) => f.note).length,
    finalSignalCopied: copiedFinal,
    counts,
    crashes: crashes.map(({ stderrTail, ...c }) => ({ ...c, stderr: lastError(stderrTail) })),
    defects: groupFindings(findings),
  };
  report(summary);
  const failed =
    summary.processExits > 0 || fiveXX > 0 || hangs > 0 || summary.otherDefects > 0 || !copiedFinal;
  return failed ? 1 : 0;
}

/** One valid open of LEAD: the probe copier (never touched by the fuzz) must get its order. */
async function finalSignal(
  world: World,
  lead: { apiKey: string; secret: string },
  say: (s: string) => void,
): Promise<boolean> {
  const signalId = `fz-final-${Date.now()}`;
  const price = (await world.exchange?.price(INSTRUMENT as 'BTC-USDT-SWAP'))?.price ?? '60000';
  const s = await Session.open(
    `ws://127.0.0.1:${world.ports.ingress}/traders?apiKey=${lead.apiKey}`,
    TIMEOUT_MS,
  );
  try {
    s.send(
      buildFrame(
        lead.secret,
        {
          signalId,
          traderId: LEAD,
          instrument: INSTRUMENT,
          action: 'open',
          side: 'long',
          qty: '0.01',
          price,
          leverage: 10,
          positionBefore: '0',
          filledMs: Date.now(),
        },
        Date.now(),
      ),
    );
    const ack = await s.next(TIMEOUT_MS);
    say(`fuzz: final signal answered ${String(ack)}`);
    for (const until = Date.now() + 30_000; Date.now() < until; await sleep(100)) {
      if (await world.copied(signalKeyOf(LEAD, signalId))) return true;
    }
    return false;
  } finally {
    s.close();
  }
}

/** A crash class is the method and route (token and body kinds left out): each crash costs a restart. */
const routeOf = (cls: string): string => cls.replace(/ token=.*$/, '');

function lastError(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const i = lines.findIndex((l) => /Error|error|Unhandled|uncaught/i.test(l));
  return lines
    .slice(i < 0 ? -6 : i, (i < 0 ? lines.length : i) + 8)
    .join('\n')
    .slice(0, 800);
}

function groupFindings(findings: Finding[]) {
  const by = new Map<
    string,
    {
      note?: boolean;
      target: string;
      cls: string;
      outcome: string;
      count: number;
      example: string;
      detail?: string;
    }
  >();
  for (const f of findings) {
    const k = `${f.target}|${f.cls}|${f.outcome}`;
    const g = by.get(k);
    if (g) g.count++;
    else
      by.set(k, {
        note: f.note,
        target: f.target,
        cls: f.cls,
        outcome: f.outcome,
        count: 1,
        example: f.input,
        detail: f.detail,
      });
  }
  return [...by.values()];
}

function report(s: {
  counts: Record<string, Record<string, number>>;
  crashes: {
    proc: string;
    cls: string;
    input: string;
    stderr: string;
    code: number | null;
    signal: string | null;
  }[];
  defects: ReturnType<typeof groupFindings>;
  [k: string]: unknown;
}): void {
  const out: string[] = [];
  out.push(
    `fuzz: seed ${s.seed}: ${s.sent} of ${s.inputs} inputs sent in ${s.seconds} s (${s.skippedKnownCrash} skipped as a known crash)`,
  );
  for (const [target, outcomes] of Object.entries(s.counts)) {
    const parts = Object.entries(outcomes)
      .filter(([, n]) => n !== 0)
      .sort((a, b) => b[1] - a[1])
      .map(([o, n]) => `${o} ${n}`);
    out.push(
      `  ${target.padEnd(14)} ${Object.values(outcomes).reduce((a, b) => a + b, 0)}: ${parts.join(', ')}`,
    );
  }
  out.push(
    `process exits: ${s.processExits}; 5xx: ${s.fiveXX}; hangs: ${s.hangs}; other defects: ${s.otherDefects}; final signal copied: ${s.finalSignalCopied}`,
  );
  for (const c of s.crashes)
    out.push(
      `CRASH ${c.proc} (code ${c.code}, signal ${c.signal}) on ${c.cls}\n  input: ${c.input}\n  ${c.stderr.replace(/\n/g, '\n  ')}`,
    );
  for (const d of s.defects)
    out.push(
      `${d.note ? 'NOTE' : 'DEFECT'} ${d.target} ${d.outcome} ×${d.count} (${d.cls})\n  e.g. ${d.example}${d.detail ? `\n  ${d.detail}` : ''}`,
    );
  process.stdout.write(`${out.join('\n')}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(s)}\n`);
}

const timer = setTimeout(() => {
  say('fuzz: over the deadline, giving up');
  process.exit(2);
}, DEADLINE_MS + 60_000);
timer.unref();

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    say(`fuzz failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
