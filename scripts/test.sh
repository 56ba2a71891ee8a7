#!/usr/bin/env bash
# Runs the whole test suite. Tests start the real servers they need (RabbitMQ, registry 2.8.2,
# PostgreSQL) as processes through scripts/stack.sh; this installs the packages they come from.
# tests/Containers.Tests runs the product in containers (podman) from images built here.
# Prints "N passed, N failed, N skipped" and fails when a test failed or none ran.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

scripts/stack.sh install
# The images tests/Containers.Tests runs, built before the run so that no image build competes with
# the other test assemblies. The Debian base and the stand-ins are reused when they exist.
images_start=$SECONDS
scripts/images.sh test-images
echo "container images built in $((SECONDS - images_start)) s"
export CONTAINER_IMAGES_BUILT=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

status=0
if [ $# -eq 0 ]; then
  # Containers.Tests after the others: its compose stack (five containers) would add its load to
  # the 2 cores the timing-bound suites share.
  dotnet test Listener.sln -c Release --filter 'FullyQualifiedName!~RegistryIntegrity.Containers.Tests' 2>&1 | tee "$log" || status=$?
  dotnet test tests/Containers.Tests -c Release --no-build 2>&1 | tee -a "$log" || status=$?
else
  dotnet test Listener.sln -c Release "$@" 2>&1 | tee "$log" || status=$?
fi

# Each test assembly ends with "Passed!  - Failed: F, Passed: P, Skipped: S, Total: T, ...": add them up.
read -r passed failed skipped total < <(
  grep -E '^(Passed|Failed)! +- ' "$log" | awk -F'[:,]' '
    { f += $2; p += $4; s += $6; t += $8 }
    END { printf "%d %d %d %d\n", p, f, s, t }')
echo "${passed} passed, ${failed} failed, ${skipped} skipped"

# The alert rules: promtool check + unit tests for every alert.
deploy/alerts/check.sh || status=$?

if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then exit 1; fi
if [ "$total" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
