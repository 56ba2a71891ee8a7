#!/usr/bin/env bash
# Start time of the product images with and without ReadyToRun: from `podman run` to the first
# 200 of /healthz/live (the process has started and Kestrel answers), RUNS times per image, next to
# the start of a container that does nothing on the same base (podman's own share).
# No broker is needed: liveness does not wait for RabbitMQ. Loopback only, bounded.
#
#   benchmarks/containers/start-time.sh          builds bench-r2r and bench-jit tags on the Debian base
#   RUNS=10 BUILD=0 benchmarks/containers/start-time.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/containers/containers.conf}
RUNS=${RUNS:-5}
BASE=localhost/runtime-deps:bookworm
PORT=${PORT:-48931}

if [ "${BUILD:-1}" = 1 ]; then
  "$ROOT/scripts/images.sh" debian-base
  BASE_IMAGE=$BASE READY_TO_RUN=true IMAGE_TAG=bench-r2r "$ROOT/scripts/images.sh" build
  BASE_IMAGE=$BASE READY_TO_RUN=false IMAGE_TAG=bench-jit "$ROOT/scripts/images.sh" build
fi

now() { date +%s%N; }

# CPU time (ms) the container has used so far, from its cgroup (v1 cpuacct or v2 cpu.stat).
cpu_ms() { # container id
  local path; path=$(podman inspect --format '{{.State.CgroupPath}}' "$1")
  if [ -f "/sys/fs/cgroup/cpuacct$path/cpuacct.usage" ]; then
    echo $(($(cat "/sys/fs/cgroup/cpuacct$path/cpuacct.usage") / 1000000))
  else
    awk '$1 == "usage_usec" { print int($2 / 1000) }' "/sys/fs/cgroup$path/cpu.stat"
  fi
}

# "wall cpu": milliseconds from `podman run` to the first 200 of /healthz/live, and the CPU time
# the container used until then (less sensitive to the other work on the machine). 30 s at most.
start_ms() { # image
  local t0 t1 id cpu
  t0=$(now)
  id=$(podman run -d --rm --read-only --network host -v /var/lib/registry-integrity -e "Urls=http://127.0.0.1:$PORT" \
    -e Listener__BearerTokens__0=start-time-benchmark-token \
    -e ConnectionStrings__RabbitMq=amqp://guest:guest@127.0.0.1:1/ "$1" 2>/dev/null)
  local deadline=$((SECONDS + 30))
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz/live"; do
    [ $SECONDS -lt $deadline ] || { podman logs "$id" >&2; podman rm -f -v "$id" >/dev/null; return 1; }
    sleep 0.02
  done
  t1=$(now)
  cpu=$(cpu_ms "$id")
  podman rm -f -v -t 0 "$id" >/dev/null 2>&1
  echo "$(((t1 - t0) / 1000000)) $cpu"
}

baseline_ms() {
  local t0; t0=$(now)
  podman run --rm --read-only --network host "$BASE" true
  echo "$((($(now) - t0) / 1000000)) 0"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A wall cpu
record() { # label "wall cpu"
  wall[$1]+="${2% *} "; cpu[$1]+="${2#* } "
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Interleaved, so that the machine's other work hits every variant alike.
for _ in $(seq "$RUNS"); do
  record base "$(baseline_ms)"
  for service in listener verifier; do
    for variant in r2r jit; do
      record "$service $variant" "$(start_ms "registry-integrity/$service:bench-$variant")"
    done
  done
done
for label in base "listener r2r" "listener jit" "verifier r2r" "verifier jit"; do
  printf '%-14s to live: median %5s ms wall, %5s ms CPU   (wall: %s)\n' "$label" \
    "$(tr ' ' '\n' <<< "${wall[$label]}" | grep . | median)" "$(tr ' ' '\n' <<< "${cpu[$label]}" | grep . | median)" "${wall[$label]}"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for service in listener verifier; do
  for variant in r2r jit; do
    printf '%s %s image: %s\n' "$service" "$variant" \
      "$(podman image inspect --format '{{.Size}}' "registry-integrity/$service:bench-$variant" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
  done
done
