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

# Part two: a swarm doing real work. A burst of 60 items arrives on an empty directory; the loop
# starts real agents (`dsl agent run`) through the process supervisor, they drain the queue, and
# the loop scales them back down. Delays are shortened for the demo; the defaults are longer.
swarm=${DEMO_SWARM_DIR:-$root/demo-swarm}
rm -rf "$swarm"
mkdir -p "$swarm"
cat >"$swarm/dsl.toml" <<TOML
[policy]
cooldown = 2
scale_down_delay = 6
scale_down_window = 6
agent_timeout = 5
[actuator]
kind = "process"
agent_grace = 5
agent_command = ["$dsl", "agent", "run", "-c", "{coordination_dir}", "--id", "{agent_id}",
                 "--heartbeat", "1", "--poll-ms", "100", "--grace", "2"]
TOML
export DSLMODEL_COORDINATION_DIR="$swarm" DSLMODEL_CONFIG="$swarm/dsl.toml"
step 'for i in $(seq 60); do dsl work add -- sleep 0.3; done'
for i in $(seq 60); do "$dsl" work add --id "job$i" -- sleep 0.3 >/dev/null; done
"$dsl" auto status | head -4
step dsl auto loop --interval 1
"$dsl" auto loop --interval 1 &
loop=$!
trap 'kill -TERM $loop 2>/dev/null; "$dsl" agent stop >/dev/null 2>&1 || true' EXIT
supervised() { jq '.agents | length' "$swarm/.dsl/supervisor.json" 2>/dev/null || echo 0; }
deadline=$((SECONDS + 180))
while [ $SECONDS -lt $deadline ]; do
  queued=$("$dsl" --json auto status | jq .data.status.work_queue_size)
  if [ "$queued" = 0 ] && [ "$(supervised)" = 1 ]; then break; fi
  sleep 1
done
kill -TERM $loop
wait $loop || true
trap - EXIT
step dsl agent stop
"$dsl" agent stop
completed=$(find "$swarm" -maxdepth 1 -name 'completed_*.json' | wc -l)
ups=$("$dsl" --json auto history --limit 1000 | jq '[.data.entries[] | select(.type=="scale_up" and .outcome=="executed")] | length')
downs=$("$dsl" --json auto history --limit 1000 | jq '[.data.entries[] | select(.type=="scale_down" and .outcome=="executed")] | length')
printf '\n\033[1mSummary\033[0m: %s of 60 items completed by real agents; %s scale-ups, %s scale-downs executed.\n' \
  "$completed" "$ups" "$downs"
printf 'Directories: %s (repairs), %s (swarm)\n' "$dir" "$swarm"
