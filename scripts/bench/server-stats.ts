/** Server-side counts a run is charged with: Redis commands (INFO commandstats), MySQL commits and fsyncs. */

/** Calls per command from the text of INFO commandstats (`cmdstat_xadd:calls=12,usec=…`). */
export function commandCalls(info: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

/** after − before per key (keys new in `after` count from 0), zero deltas left out. */
export function deltas(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

export const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** The MySQL status counters sampled around the measured window. */
export const MYSQL_COUNTERS = ['Com_commit', 'Handler_commit', 'Innodb_os_log_fsyncs', 'Innodb_data_fsyncs'];
