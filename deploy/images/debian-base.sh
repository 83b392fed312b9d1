#!/usr/bin/env bash
# Builds the root filesystem of the local stand-in image (PostgreSQL, Redis
# with Sentinel, nginx, PgBouncer; standin/docker-entrypoint.sh) with
# debootstrap, from Debian's signed packages, for machines that reach
# Debian's mirror but no image registry (CI here). build.sh imports it.
#
#   deploy/images/debian-base.sh OUT.tar      # a rootfs tarball for `docker import`
#
# The tarball is cached in $CONDCACHE_IMAGE_CACHE (default
# /var/cache/condcache-images, root only) under a key made of this script's
# text (which holds the package list), the suite and the mirror. A cached
# tarball older than 7 days is rebuilt, so security updates arrive within a
# week; set CONDCACHE_IMAGE_CACHE= (empty) to build afresh. See
# docs/operations.md "Docker Compose" for why the cache is safe.
set -euo pipefail
out=${1:?usage: debian-base.sh OUT.tar}
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=postgresql-15,postgresql-client-15,redis-server,redis-sentinel,redis-tools,nginx-light,pgbouncer,ca-certificates,procps,iproute2,gosu
cache=${CONDCACHE_IMAGE_CACHE-/var/cache/condcache-images}

here=$(cd "$(dirname "$0")" && pwd)
key=$( { cat "$0" "$here/standin/docker-entrypoint.sh"; echo "$suite $mirror"; } | sha256sum | cut -c1-16)
if [ -n "$cache" ]; then
  cached="$cache/debian-$suite-$key.tar"
  if [ -s "$cached" ] && [ -n "$(find "$cached" -mtime -7)" ]; then
    echo "debian-base: cached $cached" >&2
    cp "$cached" "$out"
    exit 0
  fi
fi

command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
root=$(mktemp -d /var/tmp/condcache-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
began=$(date +%s)
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" > "$root.log" 2>&1 || { tail -30 "$root.log"; exit 1; }
rm -f "$root.log"
# The packages' own clusters and caches are not part of an image.
chroot "$root" sh -c 'pg_dropcluster --stop 15 main 2>/dev/null || true'
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/var/lib/postgresql/15 "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
# What the official images' Dockerfiles add: the entrypoint, the data and
# init directories, logs on the container's output.
install -m 755 "$here/standin/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/postgresql/data" "$root/var/run/postgresql" "$root/data"
chroot "$root" sh -c 'chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql && chmod 700 /var/lib/postgresql/data && chown redis:redis /data'
ln -sf /dev/stdout "$root/var/log/nginx/access.log"
ln -sf /dev/stderr "$root/var/log/nginx/error.log"
chmod 755 "$root"
tar -C "$root" -cf "$out" .
echo "debian-base: built in $(( $(date +%s) - began ))s, $(du -h "$out" | cut -f1)" >&2
if [ -n "$cache" ]; then
  mkdir -p -m 700 "$cache"
  rm -f "$cache"/debian-"$suite"-*.tar
  cp "$out" "$cached"
fi
