#!/usr/bin/env bash
# Pushes a small random OCI image (one layer) through the registry HTTP API: no Docker needed.
#   scripts/push-sample.sh [REPOSITORY:TAG] [REGISTRY_URL]     default: sample/app:v1 http://127.0.0.1:55000
set -euo pipefail
ref=${1:-sample/app:v1}
registry=${2:-http://127.0.0.1:${REGISTRY_PORT:-55000}}
repo=${ref%%:*}; tag=${ref#*:}; [ "$tag" = "$ref" ] && tag=latest
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

push_blob() { # file -> prints the digest
  local digest="sha256:$(sha256sum "$1" | cut -d' ' -f1)" location
  location=$(curl -fsS -X POST -D - -o /dev/null "$registry/v2/$repo/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  case $location in http*) ;; *) location="$registry$location" ;; esac
  case $location in *\?*) location="$location&digest=$digest" ;; *) location="$location?digest=$digest" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$1" "$location" -o /dev/null
  echo "$digest"
}

head -c 2048 /dev/urandom > "$work/layer"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' > "$work/config"
layer=$(push_blob "$work/layer"); config=$(push_blob "$work/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}' \
  "$config" "$(stat -c %s "$work/config")" "$layer" "$(stat -c %s "$work/layer")" > "$work/manifest"
curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$work/manifest" "$registry/v2/$repo/manifests/$tag" -o /dev/null
echo "pushed $repo:$tag = sha256:$(sha256sum "$work/manifest" | cut -d' ' -f1) (layer $layer)"
