#!/usr/bin/env bash
# orphan-guard.sh PARENT_PID COMMAND [ARGS...]
# Runs COMMAND and ends it when PARENT_PID (the test's Node process) is gone, so a server
# started by a test that was killed with -9 does not outlive it. SIGTERM/SIGINT to this
# script are passed on to COMMAND (a clean stop); its exit code is this script's.
# The test spawns it as the leader of its own process group, so kill -9 of the group kills
# COMMAND too (that is how a test kills a CDC process "with -9").
set -u
parent=$1
shift
"$@" &
child=$!
stop_child() {
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 1 200); do kill -0 "$child" 2>/dev/null || return; sleep 0.1; done
  kill -KILL "$child" 2>/dev/null
}
trap 'stop_child' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
kill -0 "$child" 2>/dev/null && stop_child
wait "$child"
