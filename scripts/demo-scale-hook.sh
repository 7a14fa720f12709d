#!/usr/bin/env bash
# Stand-in orchestrator for the demo: records the replica count it is asked for.
# Usage: demo-scale-hook.sh TARGET_AGENTS COORDINATION_DIR
set -euo pipefail
printf '%s\n' "$1" >"$2/.demo-replicas"
echo "replicas set to $1"
