#!/usr/bin/env bash
# Runs every benchmark. Usage: bench/run.sh [build-dir]
set -euo pipefail
build=${1:-build}
cmake --build "$build" --target dsl_status_bench dsl_loop_bench dsl_core_bench dsl_agents_bench \
  >/dev/null
echo "== dsl --json auto status vs a plain reader of the same files"
"$build/bench/dsl_status_bench"
echo
echo "== dsl auto loop: later cycles against the first on an unchanged directory"
"$build/bench/dsl_loop_bench"
echo
echo "== core: measure and decide"
"$build/bench/dsl_core_bench" --benchmark_min_time=0.2
echo
echo "== agents: claim-and-complete throughput on no-op items"
"$build/bench/dsl_agents_bench"
echo
echo "== OTLP receiver: spans per minute through /v1/traces"
cmake --build "$build" --target dsl_ingest_bench dsl_telemetry_bench >/dev/null
"$build/bench/dsl_ingest_bench" 10
echo
echo "== exporter: cost per cycle"
"$build/bench/dsl_telemetry_bench" --benchmark_min_time=0.2
echo
echo "== decisions: the default policy against the HPA algorithm in the simulator"
cmake --build "$build" --target dsl_sim_bench >/dev/null
"$build/bench/dsl_sim_bench" tests/testdata/traces/azure-llm-code-2023.csv
echo
echo "== etcd: claim throughput and failover"
cmake --build "$build" --target dsl_ha_bench >/dev/null
"$build/bench/dsl_ha_bench"
echo
echo "== history: status and loop cycles over a journal of 200,000 records"
cmake --build "$build" --target dsl_history_bench >/dev/null
"$build/bench/dsl_history_bench"
echo
echo "== soak: a cycle's cost, memory and .dsl/ over simulated hours"
cmake --build "$build" --target dsl_soak_bench >/dev/null
"$build/bench/dsl_soak_bench"
