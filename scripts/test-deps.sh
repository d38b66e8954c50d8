#!/usr/bin/env bash
# What the tests need besides npm packages, from Debian's packages, installed when missing
# (npm runs this before `npm test`): Chromium drives the Bull Board page test; promtool
# (package prometheus) checks the metrics and the alerting rules; redis-server and redis-cli
# make the Redis Clusters of the cluster tests; docker-compose (Debian's, no engine needed)
# validates docker-compose.yml. Installing needs root, as on the project's machines; anyone
# else is told what to install. Then Maven fetches the JVM parts the Kafka tests run (Kafka,
# Canal: test/infra/*/pom.xml) into ~/.m2, once.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# the Redis Cluster tests start redis-server three times and join them with redis-cli
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
# the Kafka node and Canal run on Java 17 and come from Maven Central
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "the tests need Debian's ${need[*]}: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing ${need[*]} for the tests (apt-get, once)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
root=$(cd "$(dirname "$0")/.." && pwd)
KAFKA_RESOLVE_ONLY=1 bash "$root/scripts/kafka.sh"
[ -f "$root/test/infra/canal/target/lib/canal.deployer-1.1.4.jar" ] || mvn -q -B -f "$root/test/infra/canal/pom.xml" package >&2
