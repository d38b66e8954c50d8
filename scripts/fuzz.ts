/**
 * npm run fuzz [-- --seed N] [--inputs 10000] [--concurrency 8] [--timeout-ms 5000] [--json]
 *
 * A network fuzz of every input tradeflow takes, in a world of its own (databases tf_fuzz*,
 * Redis prefix tffuzz): the simulator, the settlement engine with its ops server and Bull
 * Board (`start --board`) and the copy engine run as child processes; seeded generated inputs
 * go to the trader socket, the copiers' API and /stream, Bull Board and the ops endpoints,
 * `--concurrency` at a time (each worker with its own trader socket, so that an answer frame
 * is matched to its frame). The list sent is the same for the same seed; only the
 * interleaving of the workers varies. Each input must get its answer (an error frame, a 4xx,
 * a documented close) within the timeout: a 5xx, a hang, an unexpected close or a process
 * exit is a defect. When a process exits, every input in flight to it (or answered by it in
 * the quarter second before) is a suspect: the run pauses, the process is started again, and
 * the suspects are sent again one at a time to find the one that kills it; later inputs of
 * that route are skipped (counted) so that one crash does not hide the next defect.
 * At the end one valid signal must still be copied to a copier the fuzz never touched.
 * Exit 1 on any defect. Everything listens on 127.0.0.1; all is removed afterwards.
 */
import { parseArgs } from 'node:util';
import { signalKeyOf } from '../src/copytrade/fanout/fanout.js';
import { buildFrame } from '../src/copytrade/ingress/frame.js';
import { INSTRUMENT } from '../src/load/copy-world.js';
import { type Ctx, generate, type Input } from './fuzz/inputs.js';
import { type Result, Session } from './fuzz/wire.js';
import { type Exit, LEAD, sleep, World } from './fuzz/world.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1203' },
    inputs: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '8' },
    'timeout-ms': { type: 'string', default: '5000' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npm run fuzz [-- --seed N] [--inputs 10000] [--concurrency 8] [--timeout-ms 5000] [--json]\n',
  );
  process.exit(0);
}
const SEED = Number(values.seed);
const INPUTS = Number(values.inputs);
const CONCURRENCY = Math.max(1, Number(values.concurrency));
const TIMEOUT_MS = Number(values['timeout-ms']);
/** raw junk unanswered this long counts as waiting for more (then checked with a valid request) */
const JUNK_WAIT_MS = Math.min(TIMEOUT_MS, 1000);
/** the whole run, set-up and final check included */
const DEADLINE_MS = 10 * 60_000;
/** inputs answered this long before a process exited are suspects too (it may die after answering) */
const SUSPECT_WINDOW_MS = 250;
/** how long a failed connection (or a replayed suspect) waits for its process's exit to show */
const EXIT_GRACE_MS = 200;
const say = (s: string) => process.stderr.write(`${s}\n`);

interface Finding {
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
  /** the input that killed it when sent again alone; null when no suspect did */
  cls: string | null;
  input: string;
  suspects: number;
  stderrTail: string;
}

interface Flight {
  input: Input;
  endedMs?: number;
  /** the process died with it in flight: its result is left to the replay */
  suspect?: boolean;
}

/** Outcomes that may only mean that the process behind the connection is gone. */
const maybeGone = (r: Result) =>
  !r.ok &&
  /^(refused|reset|closed|hang|fuzz-error|did-not-open|no-subscribed|raw:closed-unanswered|refused-valid:.*)$/.test(
    r.outcome,
  );

async function main(): Promise<number> {
  const started = Date.now();
  const inputs = generate(SEED, INPUTS);
  say(`fuzz: seed ${SEED}, ${inputs.length} inputs, ${CONCURRENCY} at a time`);
  const world = await World.create(say);
  const counts: Record<string, Record<string, number>> = {};
  const findings: Finding[] = [];
  const crashes: Crash[] = [];
  const crashClasses = new Set<string>();
  let skipped = 0;
  let sent = 0;
  let next = 0;
  let timeUp = false;
  const inFlight = new Set<Flight>();
  let recent: Flight[] = [];
  /** set while an exit is handled: workers wait for it before taking an input */
  let paused: Promise<void> | null = null;
  /** an exit during a replay: the replayed input killed the process */
  let replayExit: Exit | null = null;
  let replaying = false;

  const count = (target: string, outcome: string) => {
    counts[target] ??= {};
    const t = counts[target];
    t[outcome] = (t[outcome] ?? 0) + 1;
  };
  const record = (input: Input, r: Result) => {
    count(input.target, r.outcome);
    if (!r.ok)
      findings.push({
        target: input.target,
        cls: input.cls,
        outcome: r.outcome,
        input: input.show,
        detail: r.detail,
      });
  };
  const lead = world.secrets.get(LEAD) as { apiKey: string; secret: string };
  const makeCtx = (): Ctx & { done(): void } => {
    let trader: Session | null = null;
    return {
      ports: world.ports,
      secrets: world.secrets,
      timeoutMs: TIMEOUT_MS,
      junkWaitMs: JUNK_WAIT_MS,
      async trader() {
        if (trader === null || trader.closed) {
          trader = await Session.open(
            `ws://127.0.0.1:${world.ports.ingress}/traders?apiKey=${lead.apiKey}`,
            TIMEOUT_MS,
          );
        }
        return trader;
      },
      done() {
        trader?.close();
        trader = null;
      },
    };
  };
  const send = (input: Input, ctx: Ctx): Promise<Result> =>
    input.run(ctx).catch((err: Error) => ({
      outcome: 'fuzz-error',
      ok: false,
      detail: err.message,
      refused: /did not open/.test(err.message),
    }));
  const routeKey = (input: Input) => `${input.target}|${routeOf(input.cls)}`;

  /** Sends the suspects again one at a time, the process started again after each that kills it. */
  const replay = async (exit: Exit, suspects: Input[]): Promise<void> => {
    replaying = true;
    let found = 0;
    try {
      await world.restart(exit.proc);
      for (const input of suspects) {
        const ctx = makeCtx();
        replayExit = null;
        const r = await send(input, ctx);
        ctx.done();
        for (const until = Date.now() + EXIT_GRACE_MS; replayExit === null && Date.now() < until; )
          await sleep(20);
        const again = replayExit as Exit | null;
        if (again === null) {
          record(input, r);
          sent++;
          continue;
        }
        found++;
        count(input.target, 'crash');
        sent++;
        crashClasses.add(routeKey(input));
        crashes.push({
          proc: again.proc,
          code: again.code,
          signal: again.signal,
          cls: input.cls,
          input: input.show,
          suspects: suspects.length,
          stderrTail: again.stderrTail,
        });
        say(`fuzz: ${again.proc} exits on ${input.target} ${input.show}`);
        await world.restart(again.proc);
      }
    } finally {
      replaying = false;
    }
    if (found === 0)
      crashes.push({
        proc: exit.proc,
        code: exit.code,
        signal: exit.signal,
        cls: null,
        input: `not reproduced by any of ${suspects.length} suspects sent again alone: ${suspects
          .slice(0, 5)
          .map((i) => `${i.target} ${i.show}`)
          .join(' | ')}`,
        suspects: suspects.length,
        stderrTail: exit.stderrTail,
      });
  };

  const handleExit = async (exit: Exit): Promise<void> => {
    const suspects = [
      ...[...inFlight].filter((f) => f.input.proc === exit.proc),
      ...recent.filter(
        (f) => f.input.proc === exit.proc && (f.endedMs ?? 0) >= exit.atMs - SUSPECT_WINDOW_MS,
      ),
    ];
    for (const f of suspects) f.suspect = true;
    say(
      `fuzz: ${exit.proc} exited (code ${exit.code}, signal ${exit.signal}); ${suspects.length} suspects sent again alone`,
    );
    // the other workers' inputs finish (and count) before the suspects are sent again alone
    while (inFlight.size > 0) await sleep(20);
    await replay(
      exit,
      suspects.map((f) => f.input),
    );
    say(`fuzz: ${exit.proc} started again; the run goes on`);
  };

  world.onExit = (e) => {
    if (replaying) {
      replayExit = e;
      return;
    }
    const before = paused ?? Promise.resolve();
    const p: Promise<void> = before
      .then(() => handleExit(e))
      .finally(() => {
        if (paused === p) paused = null;
      });
    paused = p;
  };

  const worker = async (): Promise<void> => {
    const ctx = makeCtx();
    try {
      for (;;) {
        while (paused !== null) await paused.catch(() => undefined);
        if (Date.now() - started > DEADLINE_MS - 60_000) {
          if (!timeUp) say('fuzz: time is up, the remaining inputs are not sent');
          timeUp = true;
          return;
        }
        const input = inputs[next++];
        if (input === undefined) return;
        if (crashClasses.has(routeKey(input))) {
          skipped++;
          count(input.target, 'skipped-known-crash');
          continue;
        }
        const flight: Flight = { input };
        inFlight.add(flight);
        const r = await send(input, ctx);
        if (maybeGone(r) && !flight.suspect)
          for (const until = Date.now() + EXIT_GRACE_MS; !flight.suspect && Date.now() < until; )
            await sleep(20);
        flight.endedMs = Date.now();
        inFlight.delete(flight);
        recent.push(flight);
        if (recent.length > 4 * CONCURRENCY * 20)
          recent = recent.filter((f) => (f.endedMs ?? 0) > Date.now() - 2 * SUSPECT_WINDOW_MS);
        if (flight.suspect) continue;
        record(input, r);
        sent++;
        if (sent % 1000 === 0)
          say(
            `fuzz: ${sent} sent in ${Math.round((Date.now() - started) / 1000)} s, ${findings.length} defects, ${world.exits.length} exits`,
          );
      }
    } finally {
      ctx.done();
    }
  };

  let copiedFinal = false;
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    while (paused !== null) await (paused as Promise<void>).catch(() => undefined);
    copiedFinal = await finalSignal(world, lead, say);
  } finally {
    await world.tearDown();
  }

  const total = (pred: (o: string) => boolean) =>
    Object.values(counts).reduce(
      (a, t) => a + Object.entries(t).reduce((b, [o, n]) => b + (pred(o) ? n : 0), 0),
      0,
    );
  const fiveXX = total((o) => o === '5xx' || o === 'raw:5xx');
  const hangs = total((o) => o === 'hang');
  const summary = {
    seed: SEED,
    inputs: inputs.length,
    concurrency: CONCURRENCY,
    sent,
    skippedKnownCrash: skipped,
    notSentTimeUp: inputs.length - sent - skipped,
    seconds: Math.round((Date.now() - started) / 1000),
    processExits: world.exits.length,
    fiveXX,
    hangs,
    otherDefects: findings.filter(
      (f) => f.outcome !== '5xx' && f.outcome !== 'raw:5xx' && f.outcome !== 'hang',
    ).length,
    finalSignalCopied: copiedFinal,
    counts,
    crashes: crashes.map(({ stderrTail, ...c }) => ({ ...c, stderr: lastError(stderrTail) })),
    defects: groupFindings(findings),
  };
  report(summary);
  const failed =
    summary.processExits > 0 ||
    fiveXX > 0 ||
    hangs > 0 ||
    summary.otherDefects > 0 ||
    summary.notSentTimeUp > 0 ||
    !copiedFinal;
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
    cls: string | null;
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
    `fuzz: seed ${s.seed}: ${s.sent} of ${s.inputs} inputs sent, ${s.concurrency} at a time, in ${s.seconds} s (${s.skippedKnownCrash} skipped as a known crash, ${s.notSentTimeUp} not sent: time up)`,
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
      `CRASH ${c.proc} (code ${c.code}, signal ${c.signal}) on ${c.cls ?? 'an input not found'}\n  input: ${c.input}\n  ${c.stderr.replace(/\n/g, '\n  ')}`,
    );
  for (const d of s.defects)
    out.push(
      `DEFECT ${d.target} ${d.outcome} ×${d.count} (${d.cls})\n  e.g. ${d.example}${d.detail ? `\n  ${d.detail}` : ''}`,
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
