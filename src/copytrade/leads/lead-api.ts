import type { CopierRoute } from '../api/server.js';
import { type ApplyDeps, apply, listApplications } from './applications.js';
import { changeLeadSettings, leadSettings } from './lead-settings.js';

/**
 * The copiers' API side of leading (a user is a copier; its token authenticates it):
 *   POST /lead-applications   apply (body: lead-application.ts); the application, pending or
 *                             ineligible with every criterion and the ones that failed
 *   GET  /lead-applications   its own applications, newest first
 *   GET  /lead/settings       a lead's own settings and standing (404 NOT_A_LEAD otherwise)
 *   PUT  /lead/settings       changes any of them (body: lead-settings-change.ts)
 */
export function leadApplicationRoutes(deps: ApplyDeps): CopierRoute[] {
  return [
    {
      method: 'post',
      path: '/lead-applications',
      query: [],
      handle: async (userId, { body }) => ({ application: await apply(deps, userId, body) }),
    },
    {
      method: 'get',
      path: '/lead-applications',
      query: [],
      handle: async (userId) => ({ applications: await listApplications(deps.pool, { userId }) }),
    },
    {
      method: 'get',
      path: '/lead/settings',
      query: [],
      handle: async (userId) => ({ lead: await leadSettings(deps.pool, userId) }),
    },
    {
      method: 'put',
      path: '/lead/settings',
      query: [],
      handle: async (userId, { body }) => ({ lead: await changeLeadSettings(deps, userId, body) }),
    },
  ];
}
