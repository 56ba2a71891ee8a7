#!/usr/bin/env bash
# Writes the secret files compose.yaml reads, with fresh random passwords and token, into
# SECRETS_DIR (default: secrets/ beside this script). Existing files are kept.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${SECRETS_DIR:-$HERE/secrets}
if [ -f "$DIR/listener-settings.json" ]; then echo "secrets exist in $DIR: kept" >&2; exit 0; fi

random() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
token=$(random); rabbitmq_password=$(random); postgres_password=$(random)
amqp="amqp://integrity:$rabbitmq_password@rabbitmq:5672/"

# The folder is private to its owner; the files are readable so the containers' users
# (bind mounts keep host permissions) can read them.
mkdir -p "$DIR"; chmod 700 "$DIR"
sed "s/WEBHOOK_TOKEN/$token/" "$HERE/registry-config.yml" > "$DIR/registry-config.yml"
printf 'default_user = integrity\ndefault_pass = %s\n' "$rabbitmq_password" > "$DIR/rabbitmq-credentials.conf"
printf '%s\n' "$postgres_password" > "$DIR/postgres-password"
printf 'postgres:5432:*:postgres:%s\n' "$postgres_password" > "$DIR/postgres-pgpass"
printf '{ "ConnectionStrings": { "RabbitMq": "%s" }, "Listener": { "BearerTokens": [ "%s" ] } }\n' "$amqp" "$token" > "$DIR/listener-settings.json"
printf '{ "ConnectionStrings": { "RabbitMq": "%s" } }\n' "$amqp" > "$DIR/verifier-settings.json"
chmod 644 "$DIR"/*
echo "secrets written to $DIR" >&2
