#!/usr/bin/env bash
# Make the Docker base image locally, for machines that reach Debian's archive but no image registry.
#
#   sudo scripts/docker_base.sh [IMAGE]          # default IMAGE: local/python:3.11-bookworm
#
# The image is Debian 12 (bookworm) minbase with its CPython 3.11 release (python3.11, python3.11-venv, python3-distutils)
# and ca-certificates, made with debootstrap and loaded with `docker import`: the same interpreter the
# public python:3.11-slim-bookworm images carry, so the Dockerfile builds on either. Then:
#
#   docker build --network host --build-arg BASE_IMAGE=local/python:3.11-bookworm --build-arg VARIANT=cpu ...
#
# Needs root, debootstrap and a running Docker engine. An image that already exists is kept
# (FORCE=1 remakes it). The mirror is the first Debian URI in /etc/apt/sources.list{,.d/*} (override:
# DEBIAN_MIRROR=...); SUITE=bookworm. Takes 1-2 minutes; the image is about 110 MB.
set -euo pipefail

image="${1:-local/python:3.11-bookworm}"
suite="${SUITE:-bookworm}"
docker_cli="${DOCKER:-docker}"

if [ "${FORCE:-0}" != 1 ] && "$docker_cli" image inspect "$image" >/dev/null 2>&1; then
  echo "docker_base: $image exists (FORCE=1 to remake it)"
  exit 0
fi

mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # one-line (deb URI suite ...) and deb822 (URIs: URI) source lists; the first archive that is not
  # the security archive
  mirror="$(sed -n -e 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\) .*/\2/p' -e 's/^URIs: *\(http[^ ]*\).*/\1/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -v -- '-security' | sed -n 1p || true)"
fi
if [ -z "$mirror" ]; then
  echo "docker_base: no Debian mirror found in /etc/apt/sources.list*; set DEBIAN_MIRROR" >&2
  exit 1
fi

root="$(mktemp -d "${TMPDIR:-/tmp}/vqseg-base.XXXXXX")"
trap 'rm -rf "$root"' EXIT

echo "docker_base: debootstrap $suite from $mirror"
debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-distutils,ca-certificates \
  "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# What an image does not need: package caches and lists, docs, man pages, locales but C.UTF-8.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
# The archive's security updates, as python:*-bookworm images have them.
if [ -f "$root/etc/apt/sources.list" ]; then
  sec="$(printf '%s' "$mirror" | sed 's#/debian/*$#/debian-security#')"
  printf 'deb %s %s main\ndeb %s %s-security main\ndeb %s %s-updates main\n' \
    "$mirror" "$suite" "$sec" "$suite" "$mirror" "$suite" >"$root/etc/apt/sources.list"
fi

tar -C "$root" --numeric-owner -c . | "$docker_cli" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3.11"]' \
  --message "debootstrap $suite minbase + python3.11 (scripts/docker_base.sh)" \
  - "$image" >/dev/null
echo "docker_base: $image ($("$docker_cli" image inspect --format '{{.Size}}' "$image") bytes)"
