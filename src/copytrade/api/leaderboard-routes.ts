import {
  HttpError,
  type HttpExchange,
  type HttpExchanges,
  type HttpRequest,
  type HttpResponse,
  queryOf,
  type TemplatedApp,
} from '../../infra/http.js';
import type { Logger } from '../../infra/log.js';
import {
  BOARD_METRICS,
  type BoardCursor,
  type BoardMetric,
  decodeCursor,
  encodeCursor,
} from '../domain/leaderboard.js';
import type { WindowName } from '../domain/nav.js';
import { boardPage, errorPage, leadPage } from '../leaderboard/board-page.js';
import type { BoardFilter, BoardPage, BoardRow, BoardStore } from '../leaderboard/board-store.js';
import { badRequest, checkQuery, intParam, oneOfParam } from './query.js';

/** the default window first: oneOfParam takes the first when absent */
const WINDOWS = ['30d', '7d', '90d'] as const satisfies readonly WindowName[];
const MAX_LIMIT = 100;
const BOARD_PARAMS = ['metric', 'window', 'limit', 'cursor', 'minDaysLed', 'maxDrawdown', 'vacancy'];

export interface BoardQuery {
  metric: BoardMetric;
  window: WindowName;
  limit: number;
  cursor: BoardCursor | null;
  filter: BoardFilter;
}

/** The board's query, each parameter checked; a bad one is a 400 naming it. */
export function boardQuery(query: URLSearchParams): BoardQuery {
  checkQuery(query, BOARD_PARAMS);
  const metric = oneOfParam(query, 'metric', BOARD_METRICS);
  const window = oneOfParam(query, 'window', WINDOWS);
  const limit = intParam(query, 'limit', { min: 1, max: MAX_LIMIT, fallback: 20 });
  const rawCursor = query.get('cursor');
  const cursor = rawCursor === null ? null : decodeCursor(rawCursor);
  if (rawCursor !== null && cursor === null) throw badRequest('cursor: not a cursor this board gave out');
  const filter: BoardFilter = {};
  if (query.has('minDaysLed'))
    filter.minDaysLed = intParam(query, 'minDaysLed', { min: 0, max: 100_000, fallback: 0 });
  const dd = query.get('maxDrawdown');
  if (dd !== null) {
    if (!/^(0(\.\d{1,8})?|1(\.0{1,8})?)$/.test(dd)) {
      throw badRequest(`maxDrawdown: expected a fraction from 0 to 1 (0.25 = 25%), got "${dd}"`);
    }
    filter.maxDrawdown = Number(dd);
  }
  const vacancy = query.get('vacancy');
  if (vacancy !== null) {
    if (vacancy !== 'true' && vacancy !== 'false')
      throw badRequest(`vacancy: expected true or false, got "${vacancy}"`);
    filter.vacancy = vacancy === 'true';
  }
  return { metric, window, limit, cursor, filter };
}

/** A board row as the API and the CLI give it: the metric object, then what it was ranked by. */
export const rowJson = (r: BoardRow) => ({ ...r.metrics, daysLed: r.profile.daysLed });

const pageJson = (q: BoardQuery, page: BoardPage) => ({
  metric: q.metric,
  window: q.window,
  items: page.items.map(rowJson),
  next: page.next ? encodeCursor(page.next) : null,
});

/**
 * The public side of the copiers' API: no token. Read from the board in Redis only
 * (board-store.ts), so a stranger's request costs no MySQL query.
 *   GET /leaderboard?metric=&window=&limit=&cursor=&minDaysLed=&maxDrawdown=&vacancy=
 *   GET /leads/:id          profile, metrics per window, NAV points (90 days); 404 unless listed
 *   GET /board              the page: leads ranked by ?metric=&window=, NAV curves as SVG
 *   GET /board/leads/:id    a lead's page: its statement of metrics
 */
export function mountLeaderboard(
  app: TemplatedApp,
  httpExchanges: HttpExchanges,
  opts: { board: BoardStore; log: Logger },
): void {
  const { board, log } = opts;
  const get = (
    path: string,
    html: boolean,
    handle: (ex: HttpExchange, id: string, query: URLSearchParams) => Promise<void>,
  ) => {
    const handler = (res: HttpResponse, req: HttpRequest) => {
      const ex = httpExchanges.accept(res, req);
      const id = path.includes(':id') ? (req.getParameter(0) ?? '') : '';
      const query = queryOf(req);
      handle(ex, decodeURIComponent(id), query).catch((err: unknown) => {
        const e = err instanceof HttpError ? err : new HttpError(500, 'INTERNAL', 'internal error');
        if (!(err instanceof HttpError)) log.error({ err }, 'leaderboard request failed');
        if (html) httpExchanges.html(ex, e.status, errorPage(e.status, e.message));
        else httpExchanges.error(ex, e.status, e.code, e.message);
      });
    };
    app.get(path, handler);
    app.head(path, handler);
  };

  const listed = async (id: string) => {
    const lead = await board.lead(id);
    if (!lead) throw new HttpError(404, 'NO_SUCH_LEAD', `${id} is not a listed lead`);
    return lead;
  };

  get('/leaderboard', false, async (ex, _id, query) => {
    const q = boardQuery(query);
    httpExchanges.json(
      ex,
      200,
      pageJson(q, await board.page(q.metric, q.window, q.limit, q.cursor, q.filter)),
    );
  });
  get('/leads/:id', false, async (ex, id, query) => {
    checkQuery(query, []);
    const lead = await listed(id);
    httpExchanges.json(ex, 200, {
      profile: lead.profile,
      asOf: lead.asOf,
      metrics: lead.metrics,
      nav: lead.nav['90d'],
    });
  });
  get('/board', true, async (ex, _id, query) => {
    const q = boardQuery(query);
    const page = await board.page(q.metric, q.window, q.limit, q.cursor, q.filter);
    httpExchanges.html(ex, 200, boardPage(q, page.items, page.next ? encodeCursor(page.next) : null));
  });
  get('/board/leads/:id', true, async (ex, id, query) => {
    checkQuery(query, []);
    httpExchanges.html(ex, 200, leadPage(await listed(id)));
  });
}
