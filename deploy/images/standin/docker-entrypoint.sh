#!/usr/bin/env bash
# The entrypoint of the stand-in image (deploy/images/build.sh), which takes
# the place of the official postgres, redis and nginx images where no
# registry is reachable. Any command but "postgres" runs as it is (the
# compose file names redis-server, redis-sentinel and nginx explicitly).
# For "postgres" it is the official postgres image's entrypoint reduced to
# what condcache uses: initialise PGDATA on first start (superuser
# POSTGRES_USER with POSTGRES_PASSWORD, database POSTGRES_DB, host logins by
# POSTGRES_HOST_AUTH_METHOD), run /docker-entrypoint-initdb.d/*.sh and
# *.sql, then exec the command as the postgres user.
set -Eeo pipefail
export PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec gosu postgres "$BASH_SOURCE" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
    echo "docker-entrypoint: set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  initdb --username="$user" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") -D "$PGDATA" ${POSTGRES_INITDB_ARGS:-} >/dev/null
  printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
  method=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  printf '\nhost all all all %s\n' "$method" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start >/dev/null
  export PGUSER="$user" PGHOST=/var/run/postgresql
  if [ "$db" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --dbname postgres -qc "CREATE DATABASE \"$db\"" || true
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "docker-entrypoint: running $f"; . "$f" ;;
      *.sql) echo "docker-entrypoint: running $f"; psql -v ON_ERROR_STOP=1 --dbname "$db" -f "$f" ;;
    esac
  done
  unset PGUSER PGHOST
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "docker-entrypoint: PostgreSQL init process complete; ready for start up."
fi
exec "$@"
