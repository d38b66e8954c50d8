#!/usr/bin/env bash
# One Apache Kafka node (KRaft: broker and controller in one JVM) on loopback, without Docker.
# The jars come from test/infra/kafka/pom.xml (Maven's cache: ~/.m2). `npm run kafka` and the
# tests start it through test/infra/kafka/kafka-node.ts, which waits for a metadata answer.
#   KAFKA_PORT             client port (9092)
#   KAFKA_CONTROLLER_PORT  controller port (KAFKA_PORT + 1)
#   KAFKA_ADVERTISED_PORT  the port clients are told to use (KAFKA_PORT; a test puts a proxy there)
#   KAFKA_DATA_DIR         log directory; kept and reused when given (a restarted node keeps its
#                          topics and offsets), else a temporary one removed at the end
#   KAFKA_PARTITIONS       partitions of an auto-created topic (16)
#   KAFKA_HEAP             JVM heap (512m)
#   KAFKA_WATCH_PID        stop the node when this process ends (tests: the test process)
#   KAFKA_RESOLVE_ONLY=1   only fetch the jars (CI does this once, before the tests)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
project=$root/test/infra/kafka
lib=$project/target/lib
if [[ ! -f $lib/.resolved || $project/pom.xml -nt $lib/.resolved ]]; then
  mvn -q -B -f "$project/pom.xml" package >&2
  touch "$lib/.resolved"
fi
[[ ${KAFKA_RESOLVE_ONLY:-} == 1 ]] && exit 0

port=${KAFKA_PORT:-9092}
controller=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
if [[ -n ${KAFKA_DATA_DIR:-} ]]; then
  dir=$KAFKA_DATA_DIR
  keep=1
else
  dir=$(mktemp -d /tmp/tradeflow-kafka.XXXXXX)
  keep=0
fi
mkdir -p "$dir/log"
cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_ADVERTISED_PORT:-$port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/log
num.partitions=${KAFKA_PARTITIONS:-16}
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
cat >"$dir/log4j2.properties" <<'LOG'
rootLogger.level=WARN
rootLogger.appenderRef.out.ref=out
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
LOG

java_cmd=(java -Xms128m "-Xmx${KAFKA_HEAP:-512m}" "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$lib/*")
if [[ ! -f $dir/log/meta.properties ]]; then
  "${java_cmd[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$("${java_cmd[@]}" kafka.tools.StorageTool random-uuid)" -c "$dir/server.properties" >/dev/null
fi

"${java_cmd[@]}" kafka.Kafka "$dir/server.properties" &
jvm=$!
stop() {
  kill -TERM "$jvm" 2>/dev/null || true
  wait "$jvm" 2>/dev/null || true
  [[ $keep == 1 ]] || rm -rf "$dir"
  exit 0
}
trap stop TERM INT HUP
echo "kafka: pid $jvm, 127.0.0.1:$port, data $dir" >&2
while kill -0 "$jvm" 2>/dev/null; do
  if [[ -n ${KAFKA_WATCH_PID:-} ]] && ! kill -0 "$KAFKA_WATCH_PID" 2>/dev/null; then stop; fi
  sleep 1 &
  wait $! || true
done
wait "$jvm" || code=$?
[[ $keep == 1 ]] || rm -rf "$dir"
exit "${code:-0}"
