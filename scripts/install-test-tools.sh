#!/usr/bin/env bash
# Installs the command-line tools the tests drive (psql, pgbench, the mariadb
# client, sysbench; headless Chromium for the dashboard test) when they are
# missing, and starts the local MariaDB if it is installed but stopped. Runs
# before `npm test`; does nothing when all is there.
set -euo pipefail
need=()
command -v psql >/dev/null || need+=(postgresql-client)
command -v pgbench >/dev/null || need+=(postgresql-contrib)
command -v mariadb >/dev/null || need+=(mariadb-client)
command -v sysbench >/dev/null || need+=(sysbench)
command -v openssl >/dev/null || need+=(openssl)
# Optional: without it (and without root to install it) the browser test skips and says why.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ]; then need+=(chromium); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing test tools: ${need[*]} (install them with apt-get, or run as root)" >&2
    exit 1
  fi
  echo "installing test tools: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! mariadb -h 127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1 && [ -x /usr/sbin/mariadbd ] && [ "$(id -u)" = 0 ]; then
  echo "starting the local MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 1 30); do mariadb -h 127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
fi
