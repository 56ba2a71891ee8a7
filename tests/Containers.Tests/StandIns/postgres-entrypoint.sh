#!/bin/bash
# First start: initdb with the password from POSTGRES_PASSWORD_FILE, create POSTGRES_DB.
set -euo pipefail
bin=/usr/local/pgbin
user=${POSTGRES_USER:-postgres}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  "$bin/initdb" -D "$PGDATA" -U "$user" -E UTF8 -A scram-sha-256 --pwfile="$POSTGRES_PASSWORD_FILE" >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "$user" ]; then
    "$bin/postgres" --single -D "$PGDATA" postgres <<< "CREATE DATABASE \"$POSTGRES_DB\";" >/dev/null
  fi
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*'
