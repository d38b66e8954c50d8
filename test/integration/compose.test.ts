import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CANAL_VERSION } from '../infra/cdc.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const compose = readFileSync(`${root}docker-compose.yml`, 'utf8');
const image = (service: string) => {
  const m = new RegExp(`^  ${service}:\\n(?:    .*\\n)*?    image: (\\S+)`, 'm').exec(compose);
  assert.ok(m, `no image for service ${service} in docker-compose.yml`);
  return m[1];
};

describe('docker-compose.yml: valid, and the versions and Canal configuration the tests run', () => {
  it('passes docker-compose config (Debian docker-compose validates without an engine)', () => {
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(r.error, undefined, 'docker-compose is missing (scripts/test-deps.sh installs it)');
    assert.equal(r.status, 0, r.stderr);
  });

  it('runs the Kafka of test/infra/kafka/pom.xml, the Canal of test/infra/canal and the MariaDB here', () => {
    const kafka = /<kafka.version>([^<]+)</.exec(
      readFileSync(`${root}test/infra/kafka/pom.xml`, 'utf8'),
    )?.[1];
    assert.equal(image('kafka'), `apache/kafka:${kafka}`);
    assert.equal(image('canal'), `canal/canal-server:v${CANAL_VERSION}`);
    const server = /Ver (\d+\.\d+)/.exec(execFileSync('mariadbd', ['--version'], { encoding: 'utf8' }))?.[1];
    assert.equal(image('mysql'), `mariadb:${server}`);
  });

  it('mounts the Canal configuration files the tests run, and they exist', () => {
    const mounts = [...compose.matchAll(/- \.\/(test\/infra\/canal\/conf\/[^:\s]+):/g)].map(
      (m) => m[1] as string,
    );
    assert.deepEqual(mounts.sort(), [
      'test/infra/canal/conf/canal.properties',
      'test/infra/canal/conf/counter',
      'test/infra/canal/conf/logback.xml',
      'test/infra/canal/conf/spring/tradeflow-instance.xml',
    ]);
    for (const m of mounts) assert.ok(existsSync(`${root}${m}`), m);
  });
});
