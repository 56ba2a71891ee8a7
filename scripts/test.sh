#!/usr/bin/env bash
# Runs the whole test suite. Tests start the real servers they need (RabbitMQ, registry 2.8.2,
# PostgreSQL) as processes through scripts/stack.sh; this installs the packages they come from.
# Prints "N passed, N failed, N skipped" and fails when a test failed or none ran.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

scripts/stack.sh install
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

status=0
dotnet test Listener.sln -c Release --logger "trx" --results-directory "$results" "$@" || status=$?

# Sum the counters of every test assembly's TRX report.
read -r passed failed skipped total < <(
  cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); gsub(/["\/>]/, "", kv[2]); c[kv[1]] += kv[2] } }
    END { printf "%d %d %d %d\n", c["passed"], c["failed"] + c["error"] + c["timeout"] + c["aborted"], c["notExecuted"], c["total"] }')
echo "${passed} passed, ${failed} failed, ${skipped} skipped"

if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then exit 1; fi
if [ "$total" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
