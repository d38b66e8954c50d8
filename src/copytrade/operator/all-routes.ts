import type { UserStore } from '../accounts/users.js';
import type { ApprovalDeps } from '../leads/applications.js';
import { profitShareRoutes } from '../profit-share/operator-routes.js';
import type { ProfitShare } from '../profit-share/profit-share.js';
import { leadRoutes } from './lead-routes.js';
import type { OperatorRoute } from './routes.js';
import { userRoutes } from './user-routes.js';

/**
 * What the operator API's areas are given. Their writes reach the running copy engine as any
 * writer's do: changes on copy:changed, notices on copy:notices (each area's deps carry theirs).
 */
export interface OperatorDeps {
  readonly users: UserStore;
  readonly leads: ApprovalDeps;
  readonly profitShare: ProfitShare;
}

/** Every area's operator routes, in one list: an area adds its own here. */
export function allOperatorRoutes(deps: OperatorDeps): OperatorRoute[] {
  return [...userRoutes(deps.users), ...leadRoutes(deps.leads), ...profitShareRoutes(deps)];
}
