import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Run } from '../cli.js';
import { copyChangePublisher } from '../copytrade/copy-changes.js';
import {
  type ApprovalDeps,
  applicationStatusOf,
  approve,
  getApplication,
  listApplications,
  reject,
} from '../copytrade/leads/applications.js';
import {
  type LeadView,
  listLeads,
  recomputeLevels,
  resume,
  showLead,
  suspend,
} from '../copytrade/leads/lead-reviews.js';
import { leadNotices } from '../copytrade/notices/lead-notices.js';
import { redisNoticePusher } from '../copytrade/notices/notices.js';
import { HttpError } from '../infra/http.js';
import { createPool } from '../infra/mysql/client.js';
import { createRedis } from '../infra/redis.js';

/**
 * `tradeflow leads`: the operator's lead decisions, on MySQL directly (the same services as
 * the operator API), each change announced on copy:changed for the running engine.
 *   list [--applications [--status S]]   leads with their standing, or applications
 *   show <traderId | applicationId>
 *   approve|reject <applicationId> --reason "..."
 *   suspend|resume <traderId> --reason "..."
 *   levels                                each lead's level from copy_lead_day
 * `--json`: one JSON document on stdout. Exit 0 done, 2 bad input or a refusal (the
 * message on stderr: unknown id, not pending, no reason, ...), 1 anything else.
 */

const USAGE = `usage: tradeflow leads list [--applications [--status pending|ineligible|approved|rejected]] [--json]
       tradeflow leads show <traderId|applicationId> [--json]
       tradeflow leads approve|reject <applicationId> --reason "..." [--json]
       tradeflow leads suspend|resume <traderId> --reason "..." [--json]
       tradeflow leads levels [--json]`;

class Usage extends Error {}

const leadLine = (l: LeadView): string =>
  [
    l.traderId,
    l.standing.status,
    `L${l.standing.level}`,
    l.standing.visibility,
    `share ${l.settings.profitShareRatio}`,
    `max ${l.settings.maxCopiers}`,
    `min ${l.standing.minCopyAmount}`,
    l.settings.instruments.join(','),
  ].join('\t');

export const run: Run = async (args, { config, log }) => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    process.stderr.write(`tradeflow leads: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { command, id, values } = parsed;
  const pool = createPool(config.mysqlUrl, config.engineDb, { connections: 1 });
  const redis = createRedis(config.redisUrl, { name: 'tf-leads-cli' });
  const deps: ApprovalDeps = {
    pool,
    publish: copyChangePublisher(redis, config.redisPrefix),
    levels: config.leadLevels,
    secretKey: config.secretKey,
    notices: leadNotices(pool, redisNoticePusher(redis, config.redisPrefix), log),
  };
  const actor = `cli:${userInfo().username}`;
  const out = (json: unknown, text: string) =>
    process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
  try {
    switch (command) {
      case 'list': {
        if (values.applications) {
          const apps = await listApplications(pool, { status: applicationStatusOf(values.status ?? null) });
          out(
            apps,
            [
              ...apps.map((a) =>
                [
                  a.applicationId,
                  a.userId,
                  a.status,
                  new Date(a.createdMs).toISOString(),
                  a.reason ?? '',
                ].join('\t'),
              ),
              `${apps.length} application(s)`,
            ].join('\n'),
          );
        } else {
          const leads = await listLeads(pool);
          out(leads, [...leads.map(leadLine), `${leads.length} lead(s)`].join('\n'));
        }
        return 0;
      }
      case 'show': {
        if (id.startsWith('app-')) {
          const a = await getApplication(pool, id);
          const criteria = a.eligibility.criteria.map(
            (c) => `  ${c.passed ? 'pass' : 'FAIL'}\t${c.name}\t${c.value} ${c.comparison} ${c.threshold}`,
          );
          out(a, [`${a.applicationId}\t${a.userId}\t${a.status}\t${a.reason ?? ''}`, ...criteria].join('\n'));
        } else {
          const l = await showLead(pool, id);
          const reviews = l.reviews.map(
            (r) => `  ${new Date(r.atMs).toISOString()}\t${r.action}\t${r.actor}\t${r.reason}`,
          );
          out(l, [leadLine(l), `copiers ${l.copiers}`, ...reviews].join('\n'));
        }
        return 0;
      }
      case 'approve': {
        const a = await approve(deps, id, values.reason, actor);
        const creds = a.credentials
          ? `apiKey ${a.credentials.apiKey}\nsecret ${a.credentials.secret}\t(shown once: keep it now)`
          : 'credentials kept (the lead had its own)';
        const invite = a.invite
          ? `\ninvite ${a.invite.code}\t${a.invite.remaining} use(s) until ${new Date(a.invite.expiresMs).toISOString()}`
          : '';
        out(
          a,
          `approved ${a.application.applicationId}: ${a.traderId} leads at level ${a.level}\n${creds}${invite}`,
        );
        return 0;
      }
      case 'reject': {
        const a = await reject(deps, id, values.reason, actor);
        out(a, `rejected ${a.applicationId} of ${a.userId}: ${a.reason}`);
        return 0;
      }
      case 'suspend':
      case 'resume': {
        const l = await (command === 'suspend' ? suspend : resume)(deps, id, values.reason, actor);
        out(l, `${l.traderId} is ${l.standing.status}`);
        return 0;
      }
      case 'levels': {
        const changes = await recomputeLevels(deps, actor);
        out(
          changes,
          [
            ...changes.map((c) => `${c.traderId}\tL${c.from} → L${c.to}\taverage AUM ${c.averageAum90d}`),
            `${changes.length} level change(s)`,
          ].join('\n'),
        );
        return 0;
      }
    }
    return 2;
  } catch (err) {
    if (!(err instanceof HttpError) || err.status >= 500) throw err;
    process.stderr.write(`tradeflow leads: ${err.code}: ${err.message}\n`);
    return 2;
  } finally {
    await pool.end();
    redis.disconnect();
  }
};

const COMMANDS = ['list', 'show', 'approve', 'reject', 'suspend', 'resume', 'levels'] as const;
type Command = (typeof COMMANDS)[number];

function parse(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
      applications: { type: 'boolean', default: false },
      status: { type: 'string' },
    },
  });
  const [command, id, ...extra] = positionals;
  if (!command || !(COMMANDS as readonly string[]).includes(command)) {
    throw new Usage(command ? `unknown subcommand "${command}"` : 'a subcommand is required');
  }
  const takesId = !['list', 'levels'].includes(command);
  if (takesId && !id) throw new Usage(`${command}: an id is required`);
  if (extra.length > 0 || (!takesId && id))
    throw new Usage(`${command}: unexpected argument "${extra[0] ?? id}"`);
  const needsReason = ['approve', 'reject', 'suspend', 'resume'].includes(command);
  if (needsReason && !values.reason?.trim()) throw new Usage(`${command}: --reason "..." is required`);
  if (!needsReason && values.reason !== undefined) throw new Usage(`${command}: takes no --reason`);
  if (values.status !== undefined && !(command === 'list' && values.applications)) {
    throw new Usage('--status goes with list --applications');
  }
  if (values.status !== undefined) applicationStatusOf(values.status);
  return { command: command as Command, id: id ?? '', values };
}
