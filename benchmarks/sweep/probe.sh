#!/usr/bin/env bash
# A fresh re-implementation of the seed's curl + jq probe in its COMPLETE form, as the baseline the
# sweep is compared with: every catalog page (Link header), every tag of every repository, each
# tag's manifest fetched with the OCI + Docker Accept list, every child manifest of an index, a HEAD
# of the config and of every layer blob. Sequential, one curl at a time, like the seed's CronJob.
#
#   benchmarks/sweep/probe.sh REGISTRY_URL [MAX_SECONDS]
#
# Prints "done REPOSITORY" after each repository and a summary line at the end. With MAX_SECONDS it
# starts no new repository after that many seconds (to take the rate of a long run without waiting).
set -uo pipefail
command -v jq >/dev/null || { echo "probe: jq is missing (apt-get install jq)" >&2; exit 2; }

REGISTRY=${1:?usage: probe.sh REGISTRY_URL [MAX_SECONDS]}
REGISTRY=${REGISTRY%/}
MAX_SECONDS=${2:-0}
ACCEPT="Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
requests=0 manifests=0 blobs=0 tags_seen=0 failures=0 repositories_done=0

# fetch URL [CURL_ARGS...]: body in $tmp/body, headers in $tmp/headers, status in $code.
fetch() {
  requests=$((requests + 1))
  code=$(curl -sS -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@") || code=000
}

fail() { failures=$((failures + 1)); echo "probe: $*" >&2; }

# check_manifest REPOSITORY REFERENCE: the manifest, then its children or its config and layers.
check_manifest() {
  local repository=$1 reference=$2 media_type child blob
  local -a children layers
  fetch -H "$ACCEPT" "$REGISTRY/v2/$repository/manifests/$reference"
  manifests=$((manifests + 1))
  [ "$code" = 200 ] || { fail "$repository@$reference: manifest $code"; return; }
  media_type=$(jq -r '.mediaType // empty' "$tmp/body")
  case $media_type in
    *index*|*manifest.list*)
      mapfile -t children < <(jq -r '.manifests[].digest' "$tmp/body")
      for child in "${children[@]}"; do check_manifest "$repository" "$child"; done ;;
    *)
      mapfile -t layers < <(jq -r '.config.digest, .layers[].digest' "$tmp/body")
      for blob in "${layers[@]}"; do
        requests=$((requests + 1)); blobs=$((blobs + 1))
        code=$(curl -sS -o /dev/null -I -w '%{http_code}' "$REGISTRY/v2/$repository/blobs/$blob") || code=000
        [ "$code" = 200 ] || fail "$repository@$reference: blob $blob $code"
      done ;;
  esac
}

started_us=${EPOCHREALTIME/./}
elapsed_ms() { echo $(( (${EPOCHREALTIME/./} - started_us) / 1000 )); }

repositories=()
next="/v2/_catalog?n=100"
while [ -n "$next" ]; do
  fetch "$REGISTRY$next"
  [ "$code" = 200 ] || { fail "catalog $code"; break; }
  mapfile -t page < <(jq -r '.repositories // [] | .[]' "$tmp/body")
  repositories+=("${page[@]}")
  next=$(tr -d '\r' < "$tmp/headers" | sed -n 's/^[Ll]ink: *<\([^>]*\)>.*rel="next".*/\1/p')
done

for repository in "${repositories[@]}"; do
  if [ "$MAX_SECONDS" != 0 ] && [ "$(elapsed_ms)" -ge $((MAX_SECONDS * 1000)) ]; then break; fi
  fetch "$REGISTRY/v2/$repository/tags/list"
  [ "$code" = 200 ] || { fail "$repository: tags $code"; continue; }
  mapfile -t tags < <(jq -r '.tags // [] | .[]' "$tmp/body")
  for tag in "${tags[@]}"; do
    tags_seen=$((tags_seen + 1))
    check_manifest "$repository" "$tag"
  done
  repositories_done=$((repositories_done + 1))
  echo "done $repository"
done

ms=$(elapsed_ms)
printf 'probe: repositories %d/%d, tags %d, manifest GETs %d, blob HEADs %d, requests %d, failures %d, %d.%03d s\n' \
  "$repositories_done" "${#repositories[@]}" "$tags_seen" "$manifests" "$blobs" "$requests" "$failures" $((ms / 1000)) $((ms % 1000))
