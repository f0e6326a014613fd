#!/usr/bin/env bash
# Builds, without any registry, the two images the Swarm suite needs besides the node base image
# (test/e2e/infra/build-base-image.sh, built first):
#
# - creatio-identity-service-e2e/node-shell-base:local: the node base image plus this machine's own `bash`, `head`
#   and `grep`, what the default health check needs on the vendor's base image (test/e2e/infra/build-shell-base-image.sh,
#   which the Docker suite runs too).
# - creatio-identity-service-e2e/redis:local: this machine's `redis-server` (Debian package redis-server) with its
#   libraries, run as the official image runs it: working directory /data, protected mode off (the official image
#   builds Redis with that default), arguments appended to `redis-server`.
#
# Each is skipped when an image with the same content hash exists.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../infra/common.sh"

BASE=${BASE_IMAGE:-$E2E_NAME/node-base:local}
REDIS_IMAGE=${REDIS_IMAGE:-$E2E_NAME/redis:local}
HASH_LABEL=$E2E_NAME.content-hash

docker_answers || die "Docker does not answer; run start-docker.sh first"
docker image inspect "$BASE" >/dev/null 2>&1 || die "$BASE is missing; run test/e2e/infra/build-base-image.sh first"

work=$(mktemp -d "${TMPDIR:-/tmp}/$E2E_NAME-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- the shell base
bash "$(dirname "${BASH_SOURCE[0]}")/../infra/build-shell-base-image.sh"

# --- Redis
redis_bin=$(command -v redis-server) || die "redis-server is not installed (Debian package redis-server)"
redis_cli=$(command -v redis-cli) || die "redis-cli is not installed (Debian package redis-tools)"
mapfile -t redis_files < <(closure "$redis_bin" "$redis_cli")
redis_hash=$({ sha256sum "${BASH_SOURCE[0]}" "${redis_files[@]}" | awk '{ print $1 }'; } | sha256sum | cut -c1-32)
if [ -n "$(existing "$redis_hash")" ]; then
  docker tag "$(existing "$redis_hash")" "$REDIS_IMAGE"
  log "$REDIS_IMAGE is up to date (content hash $redis_hash)"
else
  root="$work/redis"
  mkdir -p "$root/usr/bin"
  stage "$root" "${redis_files[@]}"
  # Redis picks its mode from the name it runs under: the server must be called redis-server.
  cp -L "$redis_bin" "$root/usr/bin/redis-server"
  cp -L "$redis_cli" "$root/usr/bin/redis-cli"
  install -d -m 0777 "$root/data" "$root/tmp"
  tar -C "$root" -c . | docker import \
    --change "WORKDIR /data" \
    --change 'ENTRYPOINT ["/usr/bin/redis-server", "--protected-mode", "no"]' \
    --change "LABEL $E2E_LABEL=1 $HASH_LABEL=$redis_hash" \
    - "$REDIS_IMAGE" >/dev/null
  log "$REDIS_IMAGE built (content hash $redis_hash)"
fi
