#!/usr/bin/env bash
# Run the registry's garbage collector, then ask the verifier for a sweep.
#
# Garbage collection emits no notification at all, so the listener never hears what it
# deleted. A sweep right after GC is the only way to learn, within minutes instead of at
# the next scheduled sweep, whether GC broke an image (the 2.8 `-m` bug orphans the
# children of tagged indexes; an explicit child DELETE does the same on 3.x).
#
# Usage:
#   VERIFIER_URL=http://registry-integrity-verifier.registry-integrity.svc:8080 \
#     gc-and-sweep.sh [garbage-collect flags, e.g. --dry-run]
#
# Environment:
#   CONFIG             registry config file (default /etc/docker/registry/config.yml)
#   VERIFIER_URL       base URL of the verifier (required unless --dry-run)
#   REGISTRY_BIN       registry binary (default: `registry` if on PATH, else `docker-registry`)
#   SWEEP_ATTEMPTS     tries to trigger the sweep (default 10)
#   SWEEP_RETRY_DELAY  seconds between tries (default 6)
#   GC_ALLOW_DELETE_UNTAGGED_ON_2X=yes
#                      run `-m`/`--delete-untagged` on a 2.x registry anyway (see below)
#
# Exit status: GC's own status when GC fails (the sweep is still requested: a GC that
# failed half-way may already have deleted blobs); 69 when GC succeeded but no sweep
# could be triggered; 64 on a usage error; 0 otherwise.
#
# Run GC with the registry stopped or in read-only mode
# (storage.maintenance.readonly.enabled: true): a push during GC can lose blobs.
set -uo pipefail

CONFIG=${CONFIG:-/etc/docker/registry/config.yml}
VERIFIER_URL=${VERIFIER_URL:-}
SWEEP_ATTEMPTS=${SWEEP_ATTEMPTS:-10}
SWEEP_RETRY_DELAY=${SWEEP_RETRY_DELAY:-6}
if [ -z "${REGISTRY_BIN:-}" ]; then
  if command -v registry >/dev/null 2>&1; then REGISTRY_BIN=registry; else REGISTRY_BIN=docker-registry; fi
fi

log() { echo "gc-and-sweep: $*" >&2; }

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
for arg in "$@"; do
  case "$arg" in
    --) break ;;
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

# distribution 2.x: `-m` deletes the untagged children (platform images, attestations)
# of TAGGED indexes (distribution#3004, #3178; fixed in 3.0). That is how the incident
# this product exists for happened.
# A version that cannot be read counts as 2.x.
if [ "$delete_untagged" = yes ] && [ "${GC_ALLOW_DELETE_UNTAGGED_ON_2X:-}" != yes ]; then
  version=$("$REGISTRY_BIN" --version 2>/dev/null || true)
  major=$(printf '%s\n' "$version" | grep -Eo '(^|[[:space:]])v?[0-9]+\.[0-9]+' | head -n 1 | tr -dc '0-9.' | cut -d. -f1)
  if [ -z "$major" ]; then
    log "refusing --delete-untagged: cannot read the registry version from '$REGISTRY_BIN --version' ('$version')."
    log "set GC_ALLOW_DELETE_UNTAGGED_ON_2X=yes to run it anyway."
    exit 64
  fi
  if [ "$major" -lt 3 ]; then
    log "refusing --delete-untagged on distribution $major.x ($version): it deletes the children of tagged indexes."
    log "set GC_ALLOW_DELETE_UNTAGGED_ON_2X=yes to run it anyway."
    exit 64
  fi
fi

log "running: $REGISTRY_BIN garbage-collect $CONFIG $*"
"$REGISTRY_BIN" garbage-collect "$CONFIG" "$@"
gc_status=$?
if [ "$gc_status" -ne 0 ]; then
  log "garbage-collect exited with $gc_status"
fi

if [ "$dry_run" = yes ]; then
  log "dry run: nothing was deleted, no sweep requested"
  exit "$gc_status"
fi

swept=no
for attempt in $(seq 1 "$SWEEP_ATTEMPTS"); do
  if curl -fsS -X POST --max-time 10 "$VERIFIER_URL/v1/sweeps" >/dev/null; then
    log "sweep requested (attempt $attempt)"
    swept=yes
    break
  fi
  log "could not request a sweep (attempt $attempt of $SWEEP_ATTEMPTS)"
  [ "$attempt" -lt "$SWEEP_ATTEMPTS" ] && sleep "$SWEEP_RETRY_DELAY"
done

if [ "$gc_status" -ne 0 ]; then
  exit "$gc_status"
fi
if [ "$swept" = no ]; then
  log "GC succeeded but no sweep could be requested: POST $VERIFIER_URL/v1/sweeps by hand"
  exit 69
fi
exit 0
