import { HttpError } from '../../infra/http.js';
import { checkQuery, intParam } from '../api/query.js';
import {
  type ApprovalDeps,
  applicationStatusOf,
  approve,
  listApplications,
  reject,
} from '../leads/applications.js';
import { addInvite, listLeads, resume, setLevel, showLead, suspend } from '../leads/lead-reviews.js';
import type { OperatorRequest, OperatorRoute } from './routes.js';

/**
 * The operator API of leads (bearer TF_OPERATOR_TOKEN; `x-operator` names who decided):
 *   GET  /operator/leads                               every lead with its standing
 *   GET  /operator/leads/:traderId                     one, with copiers, reviews, applications, invites
 *   GET  /operator/lead-applications?status=&limit=    applications, newest first
 *   POST /operator/lead-applications/:id/approve       {reason}: the lead's credentials, shown once
 *   POST /operator/lead-applications/:id/reject        {reason}
 *   POST /operator/leads/:traderId/suspend|resume      {reason}
 *   POST /operator/leads/:traderId/level               {level, reason}
 *   POST /operator/leads/:traderId/invites             {uses, expiresInDays}: a private program's new code
 */
export function leadRoutes(deps: ApprovalDeps): OperatorRoute[] {
  const field = (req: OperatorRequest, name: string): unknown => {
    const b = req.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) {
      throw new HttpError(400, 'BAD_REQUEST', 'expected a JSON object body');
    }
    return (b as Record<string, unknown>)[name];
  };
  const param = (req: OperatorRequest, name: string): string => req.params[name] ?? '';
  return [
    {
      method: 'GET',
      path: '/operator/leads',
      handle: async (req) => {
        checkQuery(req.query, []);
        return { body: { leads: await listLeads(deps.pool) } };
      },
    },
    {
      method: 'GET',
      path: '/operator/leads/:traderId',
      handle: async (req) => {
        checkQuery(req.query, []);
        return { body: { lead: await showLead(deps.pool, param(req, 'traderId')) } };
      },
    },
    {
      method: 'GET',
      path: '/operator/lead-applications',
      handle: async (req) => {
        checkQuery(req.query, ['status', 'limit']);
        const status = applicationStatusOf(req.query.get('status'));
        const limit = intParam(req.query, 'limit', { min: 1, max: 500, fallback: 100 });
        return { body: { applications: await listApplications(deps.pool, { status, limit }) } };
      },
    },
    {
      method: 'POST',
      path: '/operator/lead-applications/:id/approve',
      handle: async (req) => ({
        body: await approve(deps, param(req, 'id'), field(req, 'reason'), req.actor),
      }),
    },
    {
      method: 'POST',
      path: '/operator/lead-applications/:id/reject',
      handle: async (req) => ({
        body: { application: await reject(deps, param(req, 'id'), field(req, 'reason'), req.actor) },
      }),
    },
    {
      method: 'POST',
      path: '/operator/leads/:traderId/suspend',
      handle: async (req) => ({
        body: { lead: await suspend(deps, param(req, 'traderId'), field(req, 'reason'), req.actor) },
      }),
    },
    {
      method: 'POST',
      path: '/operator/leads/:traderId/resume',
      handle: async (req) => ({
        body: { lead: await resume(deps, param(req, 'traderId'), field(req, 'reason'), req.actor) },
      }),
    },
    {
      method: 'POST',
      path: '/operator/leads/:traderId/level',
      handle: async (req) => ({
        body: {
          lead: await setLevel(
            deps,
            param(req, 'traderId'),
            field(req, 'level'),
            field(req, 'reason'),
            req.actor,
          ),
        },
      }),
    },
    {
      method: 'POST',
      path: '/operator/leads/:traderId/invites',
      handle: async (req) => ({
        status: 201,
        body: { invite: await addInvite(deps, param(req, 'traderId'), req.body) },
      }),
    },
  ];
}
