import type { CopierRoute } from '../api/server.js';
import { type ApplyDeps, apply, listApplications } from './applications.js';

/**
 * The copiers' API side of lead applications (a user is a copier; its token authenticates it):
 *   POST /lead-applications   apply (body: lead-application.ts); the application, pending or
 *                             ineligible with every criterion and the ones that failed
 *   GET  /lead-applications   its own applications, newest first
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
  ];
}
