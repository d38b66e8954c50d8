import { HttpError } from '../../infra/http.js';
import {
  idOf,
  registerUser,
  rotateCopierToken,
  rotateLeadCredentials,
  showUser,
  type UserStore,
} from '../accounts/users.js';
import type { OperatorRoute } from './routes.js';

/**
 * Users and credentials on the operator API (users.ts does the work):
 *   POST /operator/users                          register: {userId, account?, marginKind?} → 201, the token once
 *   GET  /operator/users/:userId                  what is kept of the user (no credential)
 *   POST /operator/users/:userId/token            a new copier token, once; the old one stops working
 *   POST /operator/leads/:traderId/credentials    a new API key and/or signing secret ({apiKey?, secret?}: both by default)
 */
export function userRoutes(store: UserStore): OperatorRoute[] {
  return [
    {
      method: 'POST',
      path: '/operator/users',
      handle: async ({ body }) => ({ status: 201, body: await registerUser(store, body) }),
    },
    {
      method: 'GET',
      path: '/operator/users/:userId',
      handle: async ({ params }) => ({ body: await showUser(store, params.userId ?? '') }),
    },
    {
      method: 'POST',
      path: '/operator/users/:userId/token',
      handle: async ({ params }) => ({ body: await rotateCopierToken(store, params.userId ?? '') }),
    },
    {
      method: 'POST',
      path: '/operator/leads/:traderId/credentials',
      handle: async ({ params, body }) => {
        const traderId = idOf(params.traderId ?? '', 'traderId');
        return { body: await rotateLeadCredentials(store, traderId, rotationOf(body)) };
      },
    },
  ];
}

/** `{apiKey?: boolean, secret?: boolean}`, or nothing (both). */
function rotationOf(body: unknown): { apiKey?: boolean; secret?: boolean } {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(422, 'INVALID_REQUEST', 'expected an object {apiKey?: boolean, secret?: boolean}');
  }
  const out: { apiKey?: boolean; secret?: boolean } = {};
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'apiKey' && key !== 'secret')
      throw new HttpError(422, 'INVALID_REQUEST', `${key}: unknown field`);
    if (typeof value !== 'boolean')
      throw new HttpError(422, 'INVALID_REQUEST', `${key}: expected true or false`);
    out[key] = value;
  }
  return out;
}
