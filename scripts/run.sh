#!/usr/bin/env bash
# Runs the product locally: the stack (RabbitMQ, registry 2.8.2, PostgreSQL), then the Listener and
# the Verifier (SQLite store under .stack/). Ctrl-C stops everything this started.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export STACK_DIR=${STACK_DIR:-$ROOT/.stack}
export WEBHOOK_TOKEN=${WEBHOOK_TOKEN:-local-dev-webhook-token}
LISTENER_PORT=${LISTENER_PORT:-5080}
VERIFIER_PORT=${VERIFIER_PORT:-5090}
RABBITMQ_PORT=${RABBITMQ_PORT:-35672}
REGISTRY_PORT=${REGISTRY_PORT:-55000}
export LISTENER_URL=http://127.0.0.1:$LISTENER_PORT/v1/events RABBITMQ_PORT REGISTRY_PORT

# A Listener or Verifier left over from an earlier run would answer the readiness checks below in place of the new ones.
for port in "$LISTENER_PORT" "$VERIFIER_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port on 127.0.0.1 is already in use (an earlier run still going?); stop it, or choose LISTENER_PORT / VERIFIER_PORT" >&2
    command -v ss >/dev/null && ss -ltnpH "sport = :$port" >&2 || true
    exit 1
  fi
done

scripts/stack.sh up
dotnet build Listener.sln -c Release -v quiet -nologo

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  scripts/stack.sh down
}
trap stop INT TERM EXIT

ConnectionStrings__RabbitMq=amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/ \
Listener__BearerTokens__0=$WEBHOOK_TOKEN \
Urls=http://127.0.0.1:$LISTENER_PORT \
  dotnet src/Listener/bin/Release/net10.0/RegistryIntegrity.Listener.dll > "$STACK_DIR/listener.log" 2>&1 &
pids+=($!)

ConnectionStrings__RabbitMq=amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/ \
Registry__BaseUrl=http://127.0.0.1:$REGISTRY_PORT/ \
Store__ConnectionString="Data Source=$STACK_DIR/verifier.db" \
Urls=http://127.0.0.1:$VERIFIER_PORT \
  dotnet src/Verifier/bin/Release/net10.0/RegistryIntegrity.Verifier.dll > "$STACK_DIR/verifier.log" 2>&1 &
pids+=($!)

for url in "http://127.0.0.1:$LISTENER_PORT/healthz/ready" "http://127.0.0.1:$VERIFIER_PORT/healthz/ready"; do
  for _ in $(seq 1 120); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.5; done
  curl -fsS -o /dev/null "$url" || { echo "not ready: $url (logs in $STACK_DIR)"; exit 1; }
done
# Ready, and still ours: a service that could not bind its port has exited by now.
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { echo "a service exited at start (logs in $STACK_DIR)" >&2; exit 1; }
done

cat <<INFO

Registry integrity is running.
  registry   http://127.0.0.1:$REGISTRY_PORT   (notifies the Listener; config $STACK_DIR/registry/config.yml)
  listener   http://127.0.0.1:$LISTENER_PORT/v1/events   metrics /metrics   log $STACK_DIR/listener.log
  verifier   http://127.0.0.1:$VERIFIER_PORT   verdicts /v1/broken /v1/status /v1/manifests?repository=&digest=
             metrics http://127.0.0.1:$VERIFIER_PORT/metrics   log $STACK_DIR/verifier.log

Push an image (no Docker needed: a random one-layer OCI image through the registry HTTP API):
  scripts/push-sample.sh team/app:v1
Its verdict:
  curl -s "http://127.0.0.1:$VERIFIER_PORT/v1/manifests?repository=team/app&tag=v1"
Check one image now (a loopback registry is spoken to over plain HTTP):
  dotnet src/Verifier/bin/Release/net10.0/RegistryIntegrity.Verifier.dll check 127.0.0.1:$REGISTRY_PORT/team/app:v1
Broken manifests:
  curl -s http://127.0.0.1:$VERIFIER_PORT/v1/broken
Sweep the whole registry now (e.g. after garbage-collect) and wait for the result:
  dotnet src/Verifier/bin/Release/net10.0/RegistryIntegrity.Verifier.dll sweep --wait --server http://127.0.0.1:$VERIFIER_PORT

Ctrl-C stops everything.
INFO
wait
