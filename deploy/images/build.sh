#!/usr/bin/env bash
# Builds the images the compose file and the containers mode of the tests
# run, without pulling anything: condcache from a static binary built here
# (Dockerfile.local), and stand-ins of the official postgres, redis and nginx
# images on a Debian base made with debootstrap (debian-base.sh).
#
#   deploy/images/build.sh [condcache] [standins]     # default: both
#
# Tags: condcache:local and condcache-standin:local (PostgreSQL, Redis and
# nginx in one image: the compose file gives each service its command).
# Point the compose file at them with deploy/images/standin.env.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOCKER_BUILDKIT=0 # the legacy builder: no buildx plugin needed
what=${*:-condcache standins}
# replaced IMAGE OLD_ID: removes the image a rebuild replaced, if unused.
replaced() {
  local now
  now=$(docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true)
  if [ -n "$2" ] && [ "$2" != "$now" ]; then docker rmi "$2" >/dev/null 2>&1 || true; fi
}
id_of() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
for w in $what; do
  case $w in
    condcache)
      ctx=$(mktemp -d)
      CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$ctx/condcache" ./cmd/condcache
      cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
      old=$(id_of condcache:local)
      docker build -q -f Dockerfile.local -t condcache:local "$ctx" >/dev/null
      replaced condcache:local "$old"
      rm -rf "$ctx"
      echo "condcache:local $(docker image inspect -f '{{.Size}}' condcache:local | awk '{printf "%.1f MB", $1/1e6}')"
      ;;
    standins)
      tar=$(mktemp /var/tmp/debian-base.XXXXXX.tar)
      bash deploy/images/debian-base.sh "$tar"
      # One image for the three services; the compose file and the tests
      # give each its command.
      old=$(id_of condcache-standin:local)
      docker import \
        -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'ENV PGDATA=/var/lib/postgresql/data' \
        -c 'ENTRYPOINT ["docker-entrypoint.sh"]' -c 'CMD ["postgres"]' \
        "$tar" condcache-standin:local >/dev/null
      rm -f "$tar"
      replaced condcache-standin:local "$old"
      echo "condcache-standin:local $(docker image inspect -f '{{.Size}}' condcache-standin:local | awk '{printf "%.0f MB", $1/1e6}')"
      ;;
    *) echo "build.sh: unknown image set $w" >&2; exit 2 ;;
  esac
done
