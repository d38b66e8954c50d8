import type { UserStore } from '../accounts/users.js';
import type { NoticePusher } from '../notices/notices.js';
import { profitShareRoutes } from '../profit-share/operator-routes.js';
import type { ProfitShare } from '../profit-share/profit-share.js';
import type { OperatorRoute } from './routes.js';
import { userRoutes } from './user-routes.js';

/**
 * What the operator API's routes are given: MySQL and the copy:changed publisher (with the
 * secret key) for writes the engine must see, and a pusher that reaches the copiers' and
 * leads' sockets in the copy engine (notices.ts) for the notices they write.
 */
export interface OperatorDeps extends UserStore {
  readonly pushNotice: NoticePusher;
  readonly profitShare: ProfitShare;
}

/** Every area's operator routes, in one list: an area adds its own here. */
export function allOperatorRoutes(deps: OperatorDeps): OperatorRoute[] {
  return [...userRoutes(deps), ...profitShareRoutes(deps)];
}
