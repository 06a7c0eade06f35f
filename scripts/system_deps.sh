#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's chromium (browser tests of the app)
# and PostgreSQL (the review store runs its tests on a throwaway cluster). Installs only what is
# missing, and only where it can (root with apt-get); elsewhere it says what to install and the
# tests that need it fail with that message in CI, or skip outside CI.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
{ [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ]; } || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${missing[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "system-deps: missing ${missing[*]}; install them (e.g. sudo apt-get install ${missing[*]})" \
       "or the browser/database tests cannot run" >&2
fi
