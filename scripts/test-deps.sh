#!/usr/bin/env bash
# What the tests need besides npm packages, from Debian's packages, installed when missing
# (npm runs this before `npm test`): Chromium drives the Bull Board page test; promtool
# (package prometheus) checks the metrics and the alerting rules; redis-server and redis-cli
# make the Redis Clusters of the cluster tests. Installing needs root, as
# on the project's machines; anyone else is told what to install.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# the Redis Cluster tests start redis-server three times and join them with redis-cli
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "the tests need Debian's ${need[*]}: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing ${need[*]} for the tests (apt-get, once)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
