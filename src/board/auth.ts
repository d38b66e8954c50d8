import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../config.js';

/**
 * Who may open Bull Board, from TF_BOARD_AUTH. Pure: the server hands in the parts of a
 * request that matter and carries out the decision.
 */
export type BoardAuth =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'basic'; user: string; password: string };

const VARIABLE = 'TF_BOARD_AUTH';
const MIN_TOKEN = 16;
export const SESSION_COOKIE = 'tf_board';
const REALM = 'tradeflow board';

/** Parses `token:SECRET` or `basic:USER:PASSWORD` ('' is none). The secret never appears in an error. */
export function parseBoardAuth(raw: string): BoardAuth {
  if (raw === '') return { kind: 'none' };
  const colon = raw.indexOf(':');
  const kind = colon < 0 ? raw : raw.slice(0, colon);
  const rest = colon < 0 ? '' : raw.slice(colon + 1);
  if (kind === 'token') {
    if (rest.length < MIN_TOKEN)
      throw new ConfigError(VARIABLE, `token:SECRET needs a secret of at least ${MIN_TOKEN} characters`);
    return { kind: 'token', token: rest };
  }
  if (kind === 'basic') {
    // a user name cannot hold ':' in HTTP basic auth; a password can
    const sep = rest.indexOf(':');
    const user = sep < 0 ? '' : rest.slice(0, sep);
    const password = sep < 0 ? '' : rest.slice(sep + 1);
    if (user === '' || password === '')
      throw new ConfigError(VARIABLE, 'basic:USER:PASSWORD needs a user and a password');
    return { kind: 'basic', user, password };
  }
  throw new ConfigError(VARIABLE, `expected token:SECRET or basic:USER:PASSWORD, got "${kind}:…"`);
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The board's auth for this host, or a ConfigError: anything but loopback must have auth,
 * since the board can redrive parked orders.
 */
export function boardAuthFor(host: string, rawAuth: string): BoardAuth {
  const auth = parseBoardAuth(rawAuth);
  if (auth.kind === 'none' && !isLoopback(host)) {
    throw new ConfigError(
      VARIABLE,
      `required when TF_BOARD_HOST (${host}) is not loopback: set token:SECRET or basic:USER:PASSWORD`,
    );
  }
  return auth;
}

export interface AuthRequest {
  /** the Host header */
  host?: string | undefined;
  /** the Authorization header */
  authorization?: string | undefined;
  /** the Cookie header */
  cookie?: string | undefined;
  /** the `token` query parameter */
  token?: string | undefined;
}

export type AuthDecision =
  | { ok: true; setCookie?: string }
  | { ok: false; status: 401 | 403; headers: Record<string, string>; body: string };

/**
 * Basic: the browser asks for user and password (the challenge) and sends them each time.
 * Token: `Authorization: Bearer SECRET` (scripts), or `?token=SECRET` once, which sets a
 * cookie for the rest of the session; the cookie holds an HMAC of the secret, not the secret.
 */
export function authorize(auth: BoardAuth, req: AuthRequest): AuthDecision {
  if (auth.kind === 'none') {
    // without auth only a loopback name may be asked for: a page of another site whose name
    // was rebound to 127.0.0.1 (DNS rebinding) must not reach the board from the browser
    if (req.host === undefined || isLoopback(hostName(req.host))) return { ok: true };
    return {
      ok: false,
      status: 403,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'without TF_BOARD_AUTH the board answers only to 127.0.0.1, localhost or [::1]\n',
    };
  }
  if (auth.kind === 'basic') {
    const given = /^Basic\s+(\S+)$/i.exec(req.authorization ?? '')?.[1];
    const decoded = given === undefined ? '' : Buffer.from(given, 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    // both compared whatever the first gives, so the time does not tell which was wrong
    const userOk = safeEqual(sep < 0 ? '' : decoded.slice(0, sep), auth.user);
    const passwordOk = safeEqual(sep < 0 ? '' : decoded.slice(sep + 1), auth.password);
    if (given !== undefined && sep >= 0 && userOk && passwordOk) return { ok: true };
    return refuse(`Basic realm="${REALM}", charset="UTF-8"`, 'user and password required\n');
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.authorization ?? '')?.[1];
  if (bearer !== undefined && safeEqual(bearer, auth.token)) return { ok: true };
  const session = sessionValue(auth.token);
  if (req.token !== undefined && safeEqual(req.token, auth.token)) {
    return { ok: true, setCookie: `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict` };
  }
  const cookie = cookieValue(req.cookie, SESSION_COOKIE);
  if (cookie !== undefined && safeEqual(cookie, session)) return { ok: true };
  return refuse(
    `Bearer realm="${REALM}"`,
    'token required: open the board as /?token=SECRET, or send Authorization: Bearer SECRET\n',
  );
}

const refuse = (challenge: string, body: string): AuthDecision => ({
  ok: false,
  status: 401,
  headers: { 'www-authenticate': challenge, 'content-type': 'text/plain; charset=utf-8' },
  body,
});

const sessionValue = (token: string): string =>
  createHmac('sha256', token).update('tradeflow-board-session').digest('base64url');

/** The name part of a Host header: `[::1]:9465` → `[::1]`, `localhost:9465` → `localhost`. */
export function hostName(header: string): string {
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : (header.split(':')[0] ?? '');
}

/** Constant time whatever the lengths: both sides are hashed to equal length first. */
export function safeEqual(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(a), h(b));
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
