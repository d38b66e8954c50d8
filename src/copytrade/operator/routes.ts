/**
 * The operator API's routes (`tradeflow operator`, bearer TF_OPERATOR_TOKEN): each area
 * (users and credentials, lead applications and reviews, profit share) exports a list of
 * these, and server.ts serves them all. A handler throws HttpError (infra/http.ts) for a
 * clear 4xx; anything else is a 500 logged with its cause.
 */
export interface OperatorRequest {
  /** the path's `:name` segments, by name */
  params: Record<string, string>;
  query: URLSearchParams;
  /** the parsed JSON body (undefined for GET and DELETE) */
  body: unknown;
  /** who asked, for the audit trail: the `x-operator` header, else 'operator' */
  actor: string;
}

export interface OperatorRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** e.g. `/operator/leads/:traderId/approve` */
  path: string;
  handle(req: OperatorRequest): Promise<{ status?: number; body: unknown }>;
}
