#!/usr/bin/env bash
# The real local stack: RabbitMQ, the registry (distribution 2.8.2) and PostgreSQL, each started
# as a plain process bound to 127.0.0.1 with its data under one state folder. No Docker engine.
#
#   scripts/stack.sh install                 install the Debian packages that are missing
#   scripts/stack.sh up [SERVICE...]         start (default: all) and wait until ready
#   scripts/stack.sh down [SERVICE...]       stop what this script started
#   scripts/stack.sh kill SERVICE            SIGKILL it (fault tests)
#   scripts/stack.sh status                  show what runs and where
#   scripts/stack.sh registry-config         print the generated registry config path
#
# Every setting comes from the environment, so tests can run several stacks side by side:
#   STACK_DIR (./.stack)  RABBITMQ_PORT (35672)  RABBITMQ_DIST_PORT (RABBITMQ_PORT+1000)  REGISTRY_PORT (55000)  POSTGRES_PORT (55432)
#   LISTENER_URL (http://127.0.0.1:5080/v1/events)  WEBHOOK_TOKEN (local-dev-webhook-token)
#   REGISTRY_LOG_LEVEL (warn; info adds a "response completed" line with the duration of every request)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${STACK_DIR:-$ROOT/.stack}
RABBITMQ_PORT=${RABBITMQ_PORT:-35672}
RABBITMQ_DIST_PORT=${RABBITMQ_DIST_PORT:-$((RABBITMQ_PORT + 1000))}
REGISTRY_PORT=${REGISTRY_PORT:-55000}
POSTGRES_PORT=${POSTGRES_PORT:-55432}
LISTENER_URL=${LISTENER_URL:-http://127.0.0.1:5080/v1/events}
WEBHOOK_TOKEN=${WEBHOOK_TOKEN:-local-dev-webhook-token}
REGISTRY_LOG_LEVEL=${REGISTRY_LOG_LEVEL:-warn}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
ALL_SERVICES=(rabbitmq registry postgres)

log() { echo "stack: $*" >&2; }

install() {
  local missing=()
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/postgres" ] || missing+=(postgresql)
  command -v curl >/dev/null || missing+=(curl)
  command -v prometheus >/dev/null || missing+=(prometheus) # the alerting tests run a real Prometheus
  # htpasswd -B writes the bcrypt files of the tests' htpasswd-auth registry.
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  # tests/Containers.Tests: podman run by runc (scripts/images.sh and the tests point podman at
  # deploy/containers/containers.conf; /etc/containers is left alone), netavark + aardvark-dns for
  # the compose network's names, podman-compose, debootstrap for the Debian-package base image.
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/podman/netavark ] || missing+=(netavark)
  [ -x /usr/lib/podman/aardvark-dns ] || missing+=(aardvark-dns)
  command -v podman-compose >/dev/null || missing+=(podman-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d 101 keeps the packages from starting system-wide services we do not use.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq "${missing[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
  fi
}

pidfile() { echo "$STACK_DIR/$1.pid"; }

# A killed process can linger as a zombie until PID 1 reaps it: that counts as gone.
alive() { kill -0 "$1" 2>/dev/null && [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]; }

running() {
  local f; f=$(pidfile "$1")
  [ -f "$f" ] && alive "$(cat "$f")"
}

wait_port() { # name port seconds
  local deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then log "$1 did not open port $2 within $3 s (log: $STACK_DIR/$1.log)"; tail -n 30 "$STACK_DIR/$1.log" >&2 || true; return 1; fi
    running "$1" || { log "$1 exited (log: $STACK_DIR/$1.log)"; tail -n 30 "$STACK_DIR/$1.log" >&2 || true; return 1; }
    sleep 0.2
  done
}

rabbitmq_env() {
  export RABBITMQ_NODENAME="rit${RABBITMQ_PORT}@localhost"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$RABBITMQ_PORT
  export RABBITMQ_DIST_PORT
  export RABBITMQ_MNESIA_BASE=$STACK_DIR/rabbitmq/mnesia
  export RABBITMQ_LOG_BASE=$STACK_DIR/rabbitmq/log
  export RABBITMQ_CONFIG_FILE=$STACK_DIR/rabbitmq/rabbitmq
  export RABBITMQ_ENABLED_PLUGINS_FILE=$STACK_DIR/rabbitmq/enabled_plugins
  export RABBITMQ_CONF_ENV_FILE=$STACK_DIR/rabbitmq/rabbitmq-env.conf
  export HOME=$STACK_DIR/rabbitmq
}

start_rabbitmq() {
  mkdir -p "$STACK_DIR/rabbitmq"
  (
    rabbitmq_env
    [ -f "$HOME/enabled_plugins" ] || echo '[].' > "$HOME/enabled_plugins"
    : > "$RABBITMQ_CONF_ENV_FILE"
    cat > "$RABBITMQ_CONFIG_FILE.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$RABBITMQ_PORT
loopback_users.guest = true
CONF
    cd "$HOME"
    setsid /usr/lib/rabbitmq/bin/rabbitmq-server > "$STACK_DIR/rabbitmq.log" 2>&1 < /dev/null &
    echo $! > "$(pidfile rabbitmq)"
  )
  wait_port rabbitmq "$RABBITMQ_PORT" 90
}

registry_config() { echo "$STACK_DIR/registry/config.yml"; }

write_registry_config() {
  mkdir -p "$STACK_DIR/registry/data"
  # Pulls are ignored at the source. On 2.8 `ignore.actions` filters nothing unless
  # `ignore.mediatypes` is non-empty too, hence the never-sent media type.
  cat > "$(registry_config)" <<CONF
version: 0.1
log:
  level: $REGISTRY_LOG_LEVEL
storage:
  filesystem:
    rootdirectory: $STACK_DIR/registry/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$REGISTRY_PORT
  headers:
    X-Content-Type-Options: [nosniff]
notifications:
  endpoints:
    - name: integrity-listener
      url: $LISTENER_URL
      headers:
        Authorization: [Bearer $WEBHOOK_TOKEN]
      timeout: 2s
      threshold: 3
      backoff: 1s
      ignore:
        mediatypes: [application/x-never-sent]
        actions: [pull]
CONF
}

start_registry() {
  write_registry_config
  setsid docker-registry serve "$(registry_config)" > "$STACK_DIR/registry.log" 2>&1 < /dev/null &
  echo $! > "$(pidfile registry)"
  wait_port registry "$REGISTRY_PORT" 30
}

start_postgres() {
  local data=$STACK_DIR/postgres/data
  mkdir -p "$STACK_DIR/postgres"
  chmod 755 "$STACK_DIR" "$STACK_DIR/postgres"
  # PostgreSQL refuses to run as root: the data folder belongs to the postgres user.
  local as=()
  [ "$(id -u)" = 0 ] && { chown postgres "$STACK_DIR/postgres"; as=(runuser -u postgres --); }
  if [ ! -f "$data/PG_VERSION" ]; then
    "${as[@]}" "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 > "$STACK_DIR/postgres-init.log" 2>&1
  fi
  setsid "${as[@]}" "$PG_BIN/postgres" -D "$data" -h 127.0.0.1 -p "$POSTGRES_PORT" -k "$STACK_DIR/postgres" \
    -c fsync=off -c max_connections=200 > "$STACK_DIR/postgres.log" 2>&1 < /dev/null &
  echo $! > "$(pidfile postgres)"
  wait_port postgres "$POSTGRES_PORT" 30
}

stop_service() { # name signal
  local f; f=$(pidfile "$1")
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if alive "$pid"; then
    # setsid made the service its own process group: signal the whole group.
    kill "-$2" -- "-$pid" 2>/dev/null || kill "-$2" "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

endpoint() {
  case $1 in
    rabbitmq) echo "amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/" ;;
    registry) echo "http://127.0.0.1:$REGISTRY_PORT (config $(registry_config))" ;;
    postgres) echo "Host=127.0.0.1;Port=$POSTGRES_PORT;Username=postgres;Database=postgres" ;;
  esac
}

services() { if [ $# -gt 0 ]; then echo "$@"; else echo "${ALL_SERVICES[@]}"; fi; }

cmd=${1:-status}; shift || true
case $cmd in
  install) install ;;
  up)
    install
    mkdir -p "$STACK_DIR"
    for s in $(services "$@"); do
      if running "$s"; then log "$s already running"; else "start_$s"; fi
      log "$s ready: $(endpoint "$s")"
    done ;;
  down) for s in $(services "$@"); do stop_service "$s" TERM; done ;;
  kill) for s in "$@"; do stop_service "$s" KILL; done ;;
  status)
    for s in "${ALL_SERVICES[@]}"; do
      if running "$s"; then echo "$s: running, $(endpoint "$s")"; else echo "$s: stopped"; fi
    done ;;
  registry-config) registry_config ;;
  *) echo "usage: $0 install|up|down|kill|status|registry-config [SERVICE...]" >&2; exit 2 ;;
esac
