#!/usr/bin/env bash
# Ask the verifier what garbage collection would break, run it only if nothing tagged would
# break (or --force), then ask the verifier for a sweep.
#
# Garbage collection emits no notification at all, so the listener never hears what it
# deleted. Before GC, the verifier's forecast (GET /v1/gc-forecast) names every tagged image
# the run would leave unpullable (the 2.8 `-m` bug orphans the untagged children of tagged
# indexes; 3.x `-m` still deletes untagged referrers). After GC, a sweep is the only way to
# learn, within minutes instead of at the next scheduled sweep, what it actually broke.
#
# Usage:
#   VERIFIER_URL=http://registry-integrity-verifier.registry-integrity.svc:8080 \
#     gc-and-sweep.sh [--force] [garbage-collect flags, e.g. --dry-run, --delete-untagged]
#
#   --force            run GC even when the forecast says it would break tagged images, is
#                      incomplete, or cannot be had (not passed on to garbage-collect)
#
# Environment:
#   CONFIG             registry config file (default /etc/docker/registry/config.yml)
#   VERIFIER_URL       base URL of the verifier (required unless --dry-run)
#   VERIFIER_TOKEN     bearer token for the verifier's API (one of its Api:Tokens), if set there
#   REGISTRY_BIN       registry binary (default: `registry` if on PATH, else `docker-registry`)
#   REGISTRY_VERSION   2.8 or 3: the version family to forecast for, when `REGISTRY_BIN --version`
#                      cannot be read
#   SWEEP_ATTEMPTS     tries to trigger the sweep (default 10)
#   SWEEP_RETRY_DELAY  seconds between tries (default 6)
#   SWEEP_WAIT         seconds to wait for the sweep to finish and print its result (default 3600;
#                      0: request it and exit)
#   SWEEP_POLL_INTERVAL seconds between looks at the sweep's progress (default 5)
#
# Exit status: GC's own status when GC fails (the sweep is still requested: a GC that
# failed half-way may already have deleted blobs); 65 when GC was refused because the
# forecast says it would break tagged images; 66 when a `--delete-untagged` GC was refused
# because no complete forecast could be had; 69 when GC succeeded but no sweep could be
# triggered; 67 when the sweep after GC completed and broken manifests exist; 68 when it
# failed or had not finished within SWEEP_WAIT; 64 on a usage error; 0 otherwise.
#
# Run GC with the registry stopped or in read-only mode
# (storage.maintenance.readonly.enabled: true): a push during GC can lose blobs.
set -uo pipefail

CONFIG=${CONFIG:-/etc/docker/registry/config.yml}
VERIFIER_URL=${VERIFIER_URL:-}
VERIFIER_TOKEN=${VERIFIER_TOKEN:-}
SWEEP_ATTEMPTS=${SWEEP_ATTEMPTS:-10}
SWEEP_RETRY_DELAY=${SWEEP_RETRY_DELAY:-6}
SWEEP_WAIT=${SWEEP_WAIT:-3600}
SWEEP_POLL_INTERVAL=${SWEEP_POLL_INTERVAL:-5}
if [ -z "${REGISTRY_BIN:-}" ]; then
  if command -v registry >/dev/null 2>&1; then REGISTRY_BIN=registry; else REGISTRY_BIN=docker-registry; fi
fi

log() { echo "gc-and-sweep: $*" >&2; }

for name in SWEEP_ATTEMPTS SWEEP_RETRY_DELAY SWEEP_WAIT SWEEP_POLL_INTERVAL; do
  case ${!name} in
    '' | *[!0-9]*) log "$name must be a whole number (got '${!name}')"; exit 64 ;;
  esac
done
[ "$SWEEP_ATTEMPTS" -ge 1 ] || { log "SWEEP_ATTEMPTS must be at least 1"; exit 64; }

# The flags are read as the registry's own flag library (cobra/pflag) reads them, so that no
# spelling of -m slips past the 2.x check below: --delete-untagged[=BOOL], -m, -m=BOOL, and short
# flags combined (-dm, -md=true). BOOL is what Go's strconv.ParseBool takes; the last one wins;
# "--" ends the flags.
parse_bool() {
  case "$1" in
    1 | t | T | true | TRUE | True) echo yes ;;
    0 | f | F | false | FALSE | False) echo no ;;
    *) log "not a boolean: '$1' (use true or false)"; exit 64 ;;
  esac
}

dry_run=no
delete_untagged=no
force=no
gc_args=()
seen_end=no
for arg in "$@"; do
  if [ "$seen_end" = no ] && [ "$arg" = --force ]; then
    force=yes
    continue
  fi
  gc_args+=("$arg")
  [ "$seen_end" = yes ] && continue
  case "$arg" in
    --) seen_end=yes ;;
    --dry-run) dry_run=yes ;;
    --dry-run=*) dry_run=$(parse_bool "${arg#*=}") || exit 64 ;;
    --delete-untagged) delete_untagged=yes ;;
    --delete-untagged=*) delete_untagged=$(parse_bool "${arg#*=}") || exit 64 ;;
    --*) ;;
    -?*)
      shorts=${arg#-}
      while [ -n "$shorts" ]; do
        flag=${shorts:0:1}
        shorts=${shorts:1}
        value=yes
        if [ "${shorts:0:1}" = "=" ]; then
          value=$(parse_bool "${shorts:1}") || exit 64
          shorts=
        fi
        case "$flag" in
          d) dry_run=$value ;;
          m) delete_untagged=$value ;;
        esac
      done
      ;;
  esac
done

if [ "$dry_run" = no ] && [ -z "$VERIFIER_URL" ]; then
  log "VERIFIER_URL is not set: refusing to run GC without a sweep after it"
  exit 64
fi

auth=()
[ -n "$VERIFIER_TOKEN" ] && auth=(-H "Authorization: Bearer $VERIFIER_TOKEN")

# The version family decides the forecast: 2.8 deletes the untagged children of TAGGED
# indexes with -m (distribution#3004, #3178); 3.x marks them (PR #4285).
version_line=$("$REGISTRY_BIN" --version 2>/dev/null || true)
major=$(printf '%s\n' "$version_line" | grep -Eo '(^|[[:space:]])v?[0-9]+\.[0-9]+' | head -n 1 | tr -dc '0-9.' | cut -d. -f1)
case "${REGISTRY_VERSION:-}" in
  2.8) family=2.8 ;;
  3) family=3 ;;
  "")
    if [ -z "$major" ]; then
      family=
    elif [ "$major" -lt 3 ]; then
      family=2.8
    else
      family=3
    fi
    ;;
  *) log "REGISTRY_VERSION must be 2.8 or 3 (got '$REGISTRY_VERSION')"; exit 64 ;;
esac
if [ -z "$family" ]; then
  if [ "$delete_untagged" = yes ] && [ "$force" = no ]; then
    log "refusing --delete-untagged: cannot read the registry version from '$REGISTRY_BIN --version' ('$version_line')."
    log "set REGISTRY_VERSION=2.8 or 3, or give --force to run it anyway."
    exit 64
  fi
  family=2.8
fi

# Ask for the forecast (plain GC cannot break an image that is whole today, so without a
# forecast it runs anyway; --delete-untagged does not).
mode=plain
[ "$delete_untagged" = yes ] && mode=delete-untagged
forecast_problem=
if [ -n "$VERIFIER_URL" ]; then
  forecast_file=$(mktemp)
  trap 'rm -f "$forecast_file"' EXIT
  status=$(curl -sS -o "$forecast_file" -w '%{http_code}' --max-time 120 "${auth[@]}" \
    "$VERIFIER_URL/v1/gc-forecast?mode=$mode&version=$family&format=text" 2>/dev/null) || status=000
  if [ "$status" = 200 ]; then
    result=$(head -n 1 "$forecast_file" | sed -n 's/^result: //p')
    sed 's/^/gc-and-sweep: | /' "$forecast_file" >&2
    case "$result" in
      would-break)
        if [ "$dry_run" = no ] && [ "$force" = no ]; then
          log "refusing: the forecast above says this GC would break tagged images."
          log "alternatives: run it without --delete-untagged, upgrade the registry to 3.x, tag the children it names, or re-push them after;"
          log "or give --force to run it anyway (docs/runbooks/RegistryGcWouldBreakTaggedImages.md)."
          exit 65
        fi
        [ "$dry_run" = no ] && log "--force: running a GC that the forecast says breaks tagged images"
        ;;
      safe | gc-fails) ;;
      incomplete) forecast_problem="the verifier's forecast is incomplete (see above)" ;;
      *) forecast_problem="the verifier's answer is not a forecast" ;;
    esac
  else
    forecast_problem="GET $VERIFIER_URL/v1/gc-forecast answered $status: $(head -c 300 "$forecast_file" 2>/dev/null)"
  fi
else
  forecast_problem="VERIFIER_URL is not set"
fi
if [ -n "$forecast_problem" ]; then
  if [ "$delete_untagged" = yes ] && [ "$dry_run" = no ] && [ "$force" = no ]; then
    log "refusing --delete-untagged without a complete forecast: $forecast_problem."
    log "give --force to run it anyway."
    exit 66
  fi
  log "no forecast: $forecast_problem"
fi

log "running: $REGISTRY_BIN garbage-collect $CONFIG ${gc_args[*]}"
gc_started=$(date +%s)
"$REGISTRY_BIN" garbage-collect "$CONFIG" "${gc_args[@]}"
gc_status=$?
if [ "$gc_status" -ne 0 ]; then
  log "garbage-collect exited with $gc_status"
fi

if [ "$dry_run" = yes ]; then
  log "dry run: nothing was deleted, no sweep requested"
  exit "$gc_status"
fi

# The field's first value in a JSON answer (the Verifier's answers are flat enough for this, and the
# registry host may have no jq).
json_field() { printf '%s' "$2" | grep -o "\"$1\":\"\{0,1\}[^\",}]*" | head -n 1 | sed "s/^\"$1\":\"\{0,1\}//"; }

# POST /v1/sweeps, retried; prints the answer. A sweep already running is joined (200): one that began
# before this GC cannot have seen what the GC did, so it is waited out and a sweep asked for again.
request_sweep() {
  local attempt answer
  for attempt in $(seq 1 "$SWEEP_ATTEMPTS"); do
    if answer=$(curl -fsS -X POST -H 'Content-Length: 0' --max-time 10 "${auth[@]}" "$VERIFIER_URL/v1/sweeps"); then
      printf '%s' "$answer"
      return 0
    fi
    log "could not request a sweep (attempt $attempt of $SWEEP_ATTEMPTS)"
    [ "$attempt" -lt "$SWEEP_ATTEMPTS" ] && sleep "$SWEEP_RETRY_DELAY"
  done
  return 1
}

# Follows the sweep until it completes or fails, at most SWEEP_WAIT seconds; prints its last answer.
wait_for_sweep() {
  local deadline=$((SECONDS + SWEEP_WAIT)) answer status
  while :; do
    answer=$(curl -fsS --max-time 10 "${auth[@]}" "$VERIFIER_URL/v1/sweeps/$1") || answer=""
    status=$(json_field status "$answer")
    if [ "$status" = completed ] || [ "$status" = failed ] || [ $SECONDS -ge $deadline ]; then
      printf '%s' "$answer"
      return 0
    fi
    sleep "$SWEEP_POLL_INTERVAL"
  done
}

no_sweep() {
  [ "$gc_status" -ne 0 ] && exit "$gc_status"
  log "GC succeeded but no sweep could be requested: POST $VERIFIER_URL/v1/sweeps by hand"
  exit 69
}

answer=$(request_sweep) || no_sweep
sweep_id=$(json_field id "$answer")
started_at=$(json_field startedAt "$answer")
if [ -n "$started_at" ] && started=$(date -d "$started_at" +%s 2>/dev/null) && [ "$started" -lt "$gc_started" ]; then
  log "sweep $sweep_id was already running since before the GC; waiting for it to end, then asking for a new one"
  wait_for_sweep "$sweep_id" >/dev/null
  answer=$(request_sweep) || no_sweep
  sweep_id=$(json_field id "$answer")
fi
if [ -z "$sweep_id" ]; then
  log "a sweep was requested, but the Verifier's answer named none to follow: $answer"
  exit "$gc_status"
fi
log "sweep $sweep_id requested: $VERIFIER_URL/v1/sweeps/$sweep_id"

if [ "$SWEEP_WAIT" -eq 0 ]; then
  exit "$gc_status"
fi
answer=$(wait_for_sweep "$sweep_id")
status=$(json_field status "$answer")
case "$status" in
  completed)
    status_answer=$(curl -fsS --max-time 10 "${auth[@]}" "$VERIFIER_URL/v1/status") || status_answer=""
    broken=$(json_field broken "$status_answer")
    log "sweep $sweep_id completed: $(json_field manifestsChecked "$answer") manifests checked in $(json_field repositoriesDone "$answer") repositories; ${broken:-unknown} broken"
    [ "$gc_status" -ne 0 ] && exit "$gc_status"
    if [ "${broken:-0}" != 0 ]; then
      log "broken manifests: GET $VERIFIER_URL/v1/broken (or the verifier's check verb) names each and what is missing"
      exit 67
    fi
    ;;
  failed)
    log "sweep $sweep_id failed: $(json_field catalogError "$answer")"
    [ "$gc_status" -ne 0 ] && exit "$gc_status"
    exit 68
    ;;
  *)
    log "sweep $sweep_id has not finished after ${SWEEP_WAIT} s (status: ${status:-unknown}); follow it at $VERIFIER_URL/v1/sweeps/$sweep_id"
    [ "$gc_status" -ne 0 ] && exit "$gc_status"
    exit 68
    ;;
esac
exit "$gc_status"
