import type { BoardQuery } from '../api/leaderboard-routes.js';
import { BOARD_METRICS, BOARD_WINDOWS, type BoardMetric, type LeadMetrics } from '../domain/leaderboard.js';
import type { NavPoint, WindowName } from '../domain/nav.js';
import type { BoardRow } from './board-store.js';
import type { LeadProfile } from './history.js';

/**
 * The leaderboard's pages, rendered on the server: plain HTML and inline SVG, no script and
 * no front-end build. Everything that comes from a lead (ids, settings, figures) goes
 * through esc(); the figures are shown as the board stores them (decimal strings).
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

const LABELS: Record<BoardMetric, string> = {
  roi: 'ROI',
  pnl: 'PnL',
  winRate: 'Win rate',
  maxDrawdown: 'Max drawdown',
  sharpe: 'Sharpe',
  aum: 'AUM',
  copiers: 'Copiers',
  copyQuality: 'Copy quality',
};

const percent = (v: string | null): string => (v === null ? '–' : `${(Number(v) * 100).toFixed(2)}%`);
const usdt = (v: string): string => `${Number(v).toLocaleString('en-US', { maximumFractionDigits: 2 })} USDT`;
const plain = (v: string | number | null): string => (v === null ? '–' : String(v));

/** The NAV curve as a polyline in a width × height box; a flat or single point draws a flat line. */
export function navSvg(points: readonly NavPoint[], width = 160, height = 40): string {
  if (points.length === 0)
    return `<svg class="nav" width="${width}" height="${height}" role="img" aria-label="no NAV yet"></svg>`;
  const navs = points.map((p) => Number(p.nav));
  const t0 = points[0]?.at ?? 0;
  const span = Math.max((points[points.length - 1]?.at ?? 0) - t0, 1);
  const lo = Math.min(...navs);
  const hi = Math.max(...navs);
  const range = hi - lo || 1;
  const xy = points.map((p, i) => {
    const x = points.length === 1 ? 0 : ((p.at - t0) / span) * width;
    const y = hi === lo ? height / 2 : height - (((navs[i] as number) - lo) / range) * (height - 2) - 1;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const up = (navs[navs.length - 1] as number) >= (navs[0] as number);
  return `<svg class="nav" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="NAV curve"><polyline fill="none" stroke="${up ? '#1a7f37' : '#cf222e'}" stroke-width="1.5" points="${xy.join(' ')}"/></svg>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328}table{border-collapse:collapse}
td,th{padding:.35rem .6rem;border-bottom:1px solid #d0d7de;text-align:right}td.id,th.id{text-align:left}
nav a{margin-right:.6rem}nav a.on{font-weight:bold;text-decoration:none;color:#1f2328}dl{display:grid;grid-template-columns:max-content auto;gap:.3rem 1rem}`;

const layout = (title: string, body: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;

const href = (metric: BoardMetric, window: WindowName): string =>
  `/board?metric=${encodeURIComponent(metric)}&amp;window=${encodeURIComponent(window)}`;

const quality = (m: LeadMetrics): string =>
  `ROI ratio ${esc(plain(m.copyQuality.roiRatio))}, entry slippage ${esc(plain(m.copyQuality.entrySlippageBps))} bps`;

export function boardPage(q: BoardQuery, rows: readonly BoardRow[], next: string | null): string {
  const metrics = BOARD_METRICS.map(
    (m) =>
      `<a href="${href(m, q.window)}" data-metric="${m}"${m === q.metric ? ' class="on"' : ''}>${LABELS[m]}</a>`,
  ).join('');
  const windows = BOARD_WINDOWS.map(
    (w) => `<a href="${href(q.metric, w)}" data-window="${w}"${w === q.window ? ' class="on"' : ''}>${w}</a>`,
  ).join('');
  const select = `<form method="get" action="/board"><select name="metric">${BOARD_METRICS.map(
    (m) => `<option value="${m}"${m === q.metric ? ' selected' : ''}>${LABELS[m]}</option>`,
  ).join('')}</select> <select name="window">${BOARD_WINDOWS.map(
    (w) => `<option value="${w}"${w === q.window ? ' selected' : ''}>${w}</option>`,
  ).join('')}</select> <button type="submit">Rank</button></form>`;
  const body = rows
    .map((r, i) => {
      const m = r.metrics;
      return `<tr class="lead" data-trader-id="${esc(r.traderId)}"><td>${i + 1}</td><td class="id"><a href="/board/leads/${encodeURIComponent(r.traderId)}">${esc(r.traderId)}</a></td><td>${percent(m.roi)}</td><td>${esc(usdt(m.pnl))}</td><td>${percent(m.winRate)}</td><td>${percent(m.maxDrawdown)}</td><td>${esc(plain(m.sharpe))}</td><td>${esc(usdt(m.aum))}</td><td>${m.copiers}</td><td class="vacancy">${m.vacancy}</td><td class="quality">${quality(m)}</td><td>${navSvg(r.nav)}</td></tr>`;
    })
    .join('');
  const more = next
    ? `<p><a rel="next" href="${href(q.metric, q.window)}&amp;limit=${q.limit}&amp;cursor=${encodeURIComponent(next)}">next ${q.limit}</a></p>`
    : '';
  return layout(
    `Leaderboard: ${LABELS[q.metric]}, ${q.window}`,
    `<h1>Lead traders by ${esc(LABELS[q.metric])} over ${esc(q.window)}</h1><nav class="metrics">${metrics}</nav><nav class="windows">${windows}</nav>${select}
<table id="board" data-metric="${q.metric}" data-window="${q.window}"><thead><tr><th>#</th><th class="id">Lead</th><th>ROI</th><th>PnL</th><th>Win rate</th><th>Max drawdown</th><th>Sharpe</th><th>AUM</th><th>Copiers</th><th>Vacancy</th><th>Copy quality</th><th>NAV</th></tr></thead><tbody>${body}</tbody></table>${more}`,
  );
}

export function leadPage(lead: {
  profile: LeadProfile;
  asOf: number;
  metrics: Record<WindowName, LeadMetrics>;
  nav: Record<WindowName, NavPoint[]>;
}): string {
  const p = lead.profile;
  const rows = (label: string, f: (m: LeadMetrics) => string) =>
    `<tr><th class="id">${label}</th>${BOARD_WINDOWS.map((w) => `<td>${f(lead.metrics[w])}</td>`).join('')}</tr>`;
  const statement = [
    rows('ROI', (m) => percent(m.roi)),
    rows('PnL', (m) => esc(usdt(m.pnl))),
    rows('Win rate', (m) => percent(m.winRate)),
    rows('Max drawdown', (m) => percent(m.maxDrawdown)),
    rows('Sharpe', (m) => esc(plain(m.sharpe))),
    rows('AUM', (m) => esc(usdt(m.aum))),
    rows('Copiers', (m) => String(m.copiers)),
    rows('Vacancy', (m) => String(m.vacancy)),
    rows("Copiers' PnL", (m) => esc(usdt(m.copiersPnl))),
    rows('Copy quality', quality),
  ].join('');
  return layout(
    `Lead ${p.traderId}`,
    `<p><a href="/board">← leaderboard</a></p><h1>${esc(p.traderId)}</h1><dl id="profile"><dt>Instruments</dt><dd>${esc(p.instruments.join(', '))}</dd><dt>Profit share</dt><dd>${percent(p.profitShareRatio)}</dd><dt>Copiers at most</dt><dd>${esc(p.maxCopiers)}</dd><dt>Signals from</dt><dd>${esc(p.signalSource)}</dd><dt>Days led</dt><dd>${esc(p.daysLed)}</dd><dt>As of</dt><dd>${esc(new Date(lead.asOf).toISOString())}</dd></dl>
<h2>NAV, 90 days</h2>${navSvg(lead.nav['90d'] ?? [], 480, 120)}
<h2>Statement</h2><table id="statement" data-trader-id="${esc(p.traderId)}"><thead><tr><th class="id"></th>${BOARD_WINDOWS.map((w) => `<th>${w}</th>`).join('')}</tr></thead><tbody>${statement}</tbody></table>`,
  );
}

export const errorPage = (status: number, message: string): string =>
  layout(`${status}`, `<h1>${status}</h1><p>${esc(message)}</p><p><a href="/board">leaderboard</a></p>`);
