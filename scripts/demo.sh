#!/usr/bin/env bash
# The demo: builds a small coordination directory with real problems in it (a backlog, claims
# held by an agent that died, a failed item), then runs status, analyze, a dry run, and a short
# loop that repairs the queue for real and asks a scaling hook for more agents.
set -euo pipefail
dsl=${1:-build/tools/dsl/dsl}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${DEMO_DIR:-$root/demo-coordination}

rm -rf "$dir"
mkdir -p "$dir"
now=$(date -u +%Y-%m-%dT%H:%M:%S)
old=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
w() { printf '%s\n' "$2" >"$dir/$1"; }
w agent_1.json "{\"id\":\"agent_1\",\"status\":\"active\",\"heartbeat\":\"$now\",\"host\":\"$(hostname)\"}"
w agent_2.json "{\"id\":\"agent_2\",\"status\":\"busy\",\"heartbeat\":\"$now\"}"
for i in 0 1 2 3 4 5 6 7; do
  w "work_$i.json" "{\"id\":\"work_$i\",\"status\":\"pending\",\"priority\":$((i % 3)),\"created\":\"$now\",\"command\":[\"echo\",\"item $i\"]}"
done
for i in 8 9; do
  w "work_$i.json" "{\"id\":\"work_$i\",\"status\":\"claimed\",\"claimed_by\":\"agent_9\",\"claimed_at\":\"$old\",\"created\":\"$old\",\"command\":[\"echo\",\"item $i\"]}"
done
for i in 0 1 2; do
  w "completed_$i.json" "{\"id\":\"completed_$i\",\"status\":\"completed\",\"result\":\"ok\",\"finished\":\"$now\"}"
done
w completed_f1.json "{\"id\":\"f1\",\"status\":\"failed\",\"error\":\"exit 1\",\"finished\":\"$now\",\"command\":[\"false\"],\"attempts\":1,\"max_attempts\":3}"
for i in 0 1 2 3; do
  w "telemetry_$i.json" "{\"id\":\"telemetry_$i\",\"timestamp\":\"$now\",\"metrics\":{\"response_time\":$((800 + 100 * i))}}"
done
printf 'not json' >"$dir/work_bad.json"

cat >"$dir/dsl.toml" <<TOML
# Demo settings: scaling goes to a stand-in orchestrator hook that records the requested
# replica count in .demo-replicas (a real deployment points this at kubectl, nomad, systemctl…).
[actuator]
scale_command = ["bash", "$root/scripts/demo-scale-hook.sh", "{target_agents}", "{coordination_dir}"]
timeout = 10
TOML

export DSLMODEL_COORDINATION_DIR="$dir" DSLMODEL_CONFIG="$dir/dsl.toml"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step dsl auto status;                "$dsl" auto status
step dsl auto analyze;               "$dsl" auto analyze
step dsl auto execute --dry-run;     "$dsl" auto execute --dry-run
step dsl auto loop --interval 1 --max-cycles 3; "$dsl" auto loop --interval 1 --max-cycles 3
step dsl auto history;               "$dsl" auto history
step 'dsl --json auto status | jq .data.status.health_score'
"$dsl" --json auto status | jq .data.status.health_score
printf '\nDemo directory: %s (requested replicas: %s)\n' "$dir" "$(cat "$dir/.demo-replicas" 2>/dev/null || echo none)"
