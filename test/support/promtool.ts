import { spawnSync } from 'node:child_process';

/**
 * What `promtool check metrics` (Debian's `prometheus` package) finds wrong with a scrape,
 * as its lines of output; empty when the exposition follows the Prometheus conventions.
 * Throws when promtool is not installed: the check is part of the suite, not optional.
 */
export function promtoolProblems(exposition: string): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], {
    input: exposition,
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.error) {
    throw new Error(
      `promtool could not run (${r.error.message}): install Debian's prometheus package (apt-get install -y prometheus), as scripts/test-deps.sh does before npm test`,
    );
  }
  const out = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  if (r.status !== 0 && out.length === 0) return [`promtool exited ${r.status} without saying why`];
  return r.status === 0 ? [] : out;
}
