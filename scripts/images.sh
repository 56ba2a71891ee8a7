#!/usr/bin/env bash
# Builds the container images of the Listener and the Verifier with podman.
#
#   scripts/images.sh build            publish both services and build their images (default)
#   scripts/images.sh debian-base      build localhost/runtime-deps:bookworm from Debian packages (debootstrap)
#   scripts/images.sh stand-ins        build RabbitMQ, PostgreSQL and registry 2.8 images from Debian packages
#                                      (the compose tests use them where users pull the public images)
#   scripts/images.sh test-images      what tests/Containers.Tests runs: debian-base, stand-ins, and build
#                                      on the Debian-package base
#   scripts/images.sh names            print the image names build tags
#
# Settings from the environment:
#   BASE_IMAGE     (mcr.microsoft.com/dotnet/runtime-deps:10.0) the base both images are built on;
#                  localhost/runtime-deps:bookworm is the one `debian-base` builds
#   IMAGE_PREFIX   (registry-integrity) images are IMAGE_PREFIX/listener and IMAGE_PREFIX/verifier
#   IMAGE_TAG      (the chart's appVersion) their tag
#   READY_TO_RUN   (true) publish ReadyToRun (precompiled) assemblies
#   IMAGE_SOURCE   (the git remote origin when it is an https URL) org.opencontainers.image.source
#   DEBIAN_MIRROR  (the first Debian mirror in the apt sources) for debootstrap
#
# Podman runs with deploy/containers/containers.conf (runc, explicit ulimits) unless
# CONTAINERS_CONF is set: the machine's own configuration is left alone.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/containers/containers.conf}
BASE_IMAGE=${BASE_IMAGE:-mcr.microsoft.com/dotnet/runtime-deps:10.0}
IMAGE_PREFIX=${IMAGE_PREFIX:-registry-integrity}
IMAGE_TAG=${IMAGE_TAG:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$ROOT/deploy/helm/registry-integrity/Chart.yaml")}
READY_TO_RUN=${READY_TO_RUN:-true}
DEBIAN_BASE=localhost/runtime-deps:bookworm
STANDIN_PREFIX=localhost/registry-integrity-standin

log() { echo "images: $*" >&2; }

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  # deb822 sources (URIs:) or one-line sources (deb URL bookworm ...).
  local url
  url=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }')
  [ -n "$url" ] || url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }')
  [ -n "$url" ] || { log "no Debian mirror in the apt sources; set DEBIAN_MIRROR"; return 1; }
  echo "$url"
}

debian_base() {
  if podman image exists "$DEBIAN_BASE"; then log "$DEBIAN_BASE exists"; return; fi
  local rootfs; rootfs=$(mktemp -d /var/tmp/rit-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' RETURN
  log "debootstrap bookworm into $rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)" > "$rootfs.log" 2>&1 \
    || { tail -n 30 "$rootfs.log" >&2; return 1; }
  rm -f "$rootfs.log"
  # The libraries a self-contained .NET app needs (what runtime-deps ships), nothing else.
  chroot "$rootfs" apt-get install -y -qq --no-install-recommends libicu72 libssl3 ca-certificates zlib1g tzdata >/dev/null
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --quiet --change 'CMD ["/bin/bash"]' - "$DEBIAN_BASE" >/dev/null
  log "built $DEBIAN_BASE"
}

stand_ins() {
  debian_base
  local dir=$ROOT/tests/Containers.Tests/StandIns
  for name in rabbitmq postgres registry; do
    log "building $STANDIN_PREFIX/$name:bookworm"
    podman build --quiet --format docker --build-arg "BASE=$DEBIAN_BASE" --target "$name" \
      -t "$STANDIN_PREFIX/$name:bookworm" -f "$dir/Containerfile" "$dir" >/dev/null
  done
}

source_url() {
  if [ -n "${IMAGE_SOURCE:-}" ]; then echo "$IMAGE_SOURCE"; return; fi
  local origin; origin=$(git -C "$ROOT" remote get-url origin 2>/dev/null || true)
  case $origin in https://*) echo "${origin%.git}" ;; *) echo "https://github.com/OWNER/registry-integrity" ;; esac
}

build_one() { # project assembly image
  # Own artifacts folder (bin/ and obj/ of every project involved): the RID-specific restore and
  # ReadyToRun build neither touch nor invalidate the developer's src/*/obj and bin/Release.
  local artifacts=$ROOT/bin/images out=$ROOT/bin/images/context/$1
  log "publishing $1 (ReadyToRun=$READY_TO_RUN)"
  rm -rf "$out"
  local publish_log; publish_log=$(mktemp)
  dotnet publish "$ROOT/src/$1/$1.csproj" -c Release -r linux-x64 --self-contained \
    -p:PublishReadyToRun="$READY_TO_RUN" -p:InformationalVersion="$IMAGE_TAG" \
    --artifacts-path "$artifacts" -o "$out" -nologo > "$publish_log" 2>&1 \
    || { tail -n 40 "$publish_log" >&2; rm -f "$publish_log"; return 1; }
  rm -f "$publish_log"
  log "building $3 on $BASE_IMAGE"
  podman build --quiet --format docker \
    --build-arg "BASE=$BASE_IMAGE" --build-arg "APP=$2" \
    --label "org.opencontainers.image.source=$(source_url)" \
    --label "org.opencontainers.image.version=$IMAGE_TAG" \
    --label "org.opencontainers.image.revision=$(git -C "$ROOT" rev-parse HEAD)" \
    --label "org.opencontainers.image.title=$2" \
    -t "$3" -f "$ROOT/deploy/containers/Containerfile" "$out" >/dev/null
  # The image this tag pointed at before, now untagged: only ours (by label), never anyone else's.
  podman image prune -f --filter "label=org.opencontainers.image.title=$2" >/dev/null
  log "$3: $(podman image inspect --format '{{.Size}}' "$3" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
}

build() {
  build_one Listener RegistryIntegrity.Listener "$IMAGE_PREFIX/listener:$IMAGE_TAG"
  build_one Verifier RegistryIntegrity.Verifier "$IMAGE_PREFIX/verifier:$IMAGE_TAG"
}

case ${1:-build} in
  build) build ;;
  debian-base) debian_base ;;
  stand-ins) stand_ins ;;
  test-images) debian_base; stand_ins; BASE_IMAGE=$DEBIAN_BASE build ;;
  names) echo "$IMAGE_PREFIX/listener:$IMAGE_TAG $IMAGE_PREFIX/verifier:$IMAGE_TAG" ;;
  *) echo "usage: $0 build|debian-base|stand-ins|test-images|names" >&2; exit 2 ;;
esac
