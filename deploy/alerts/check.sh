#!/usr/bin/env bash
# Check and unit-test the alert rules: `promtool check rules` on the rule file, then
# `promtool test rules` on deploy/alerts/tests/*.yml. CI calls this script.
# promtool comes from the Debian package `prometheus`; it is installed when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RULES=$ROOT/deploy/helm/registry-integrity/files/alerts.yml
TESTS_DIR=$ROOT/deploy/alerts/tests

if ! command -v promtool >/dev/null 2>&1; then
  echo "check.sh: promtool not found, installing the Debian package prometheus" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101 keeps the package from starting a system-wide Prometheus.
  had_policy=no
  [ -e /usr/sbin/policy-rc.d ] && had_policy=yes
  [ "$had_policy" = yes ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  [ "$had_policy" = yes ] || rm -f /usr/sbin/policy-rc.d
fi

promtool --version | head -n 1
promtool check rules "$RULES"
shopt -s nullglob
tests=("$TESTS_DIR"/*.yml)
if [ ${#tests[@]} -eq 0 ]; then
  echo "check.sh: no test files in $TESTS_DIR" >&2
  exit 1
fi
promtool test rules "${tests[@]}"
