#!/usr/bin/env bash
# Builds, without any registry, the two images the Swarm suite needs besides the node base image
# (test/e2e/infra/build-base-image.sh, built first):
#
# - creatio-identity-service-e2e/node-shell-base:local: the node base image plus this machine's own `bash`, `head`
#   and `grep` (Debian packages bash, coreutils, grep) with the libraries they link. Microsoft's ASP.NET Core images,
#   which the vendor's Dockerfile-OAuth builds on, are Debian `bookworm-slim` (8.0) or `bullseye-slim` (6.0): these
#   three programs are what the package's default health check needs there, and on a Debian 12 machine they are the
#   very packages of `bookworm-slim`. The stand-in Identity Service is built on it so that the default probe runs.
# - creatio-identity-service-e2e/redis:local: this machine's `redis-server` (Debian package redis-server) with its
#   libraries, run as the official image runs it: working directory /data, protected mode off (the official image
#   builds Redis with that default), arguments appended to `redis-server`.
#
# Each is skipped when an image with the same content hash exists.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../infra/common.sh"

BASE=${BASE_IMAGE:-$E2E_NAME/node-base:local}
SHELL_IMAGE=${SHELL_IMAGE:-$E2E_NAME/node-shell-base:local}
REDIS_IMAGE=${REDIS_IMAGE:-$E2E_NAME/redis:local}
HASH_LABEL=$E2E_NAME.content-hash

docker_answers || die "Docker does not answer; run start-docker.sh first"
docker image inspect "$BASE" >/dev/null 2>&1 || die "$BASE is missing; run test/e2e/infra/build-base-image.sh first"

# The files of the given programs and of every library they link, one path a line.
closure() {
  local program
  for program in "$@"; do
    readlink -f "$program"
    ldd "$program" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | sort -u
}

# Copies each path (following symlinks) into the root folder under the same path.
stage() {
  local root=$1 file
  shift
  for file in "$@"; do
    mkdir -p "$root$(dirname "$file")"
    cp -L "$file" "$root$file"
  done
}

existing() { # the id of an image with this content hash, if any
  docker images -q --filter "label=$HASH_LABEL=$1" | head -n 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/$E2E_NAME-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- the shell base
bash_bin=$(command -v bash) head_bin=$(command -v head) grep_bin=$(command -v grep)
mapfile -t shell_files < <(closure "$bash_bin" "$head_bin" "$grep_bin")
base_id=$(docker image inspect --format '{{.Id}}' "$BASE")
shell_hash=$({ echo "$base_id"; sha256sum "${BASH_SOURCE[0]}" "${shell_files[@]}" | awk '{ print $1 }'; } | sha256sum | cut -c1-32)
if [ -n "$(existing "$shell_hash")" ]; then
  docker tag "$(existing "$shell_hash")" "$SHELL_IMAGE"
  log "$SHELL_IMAGE is up to date (content hash $shell_hash)"
else
  mkdir -p "$work/shell/root/usr/bin"
  stage "$work/shell/root" "${shell_files[@]}"
  # The probe calls them by name: put them where PATH finds them whatever the machine's layout.
  cp -L "$bash_bin" "$work/shell/root/usr/bin/bash"
  cp -L "$head_bin" "$work/shell/root/usr/bin/head"
  cp -L "$grep_bin" "$work/shell/root/usr/bin/grep"
  printf 'FROM %s\nCOPY root/ /\nLABEL %s=1 %s=%s\n' "$BASE" "$E2E_LABEL" "$HASH_LABEL" "$shell_hash" >"$work/shell/Dockerfile"
  docker build -q -t "$SHELL_IMAGE" "$work/shell" >/dev/null
  docker run --rm --label "$E2E_LABEL=1" --entrypoint /usr/bin/bash "$SHELL_IMAGE" -c 'head --version | head -n 1 && grep --version | head -n 1' >&2 \
    || die "$SHELL_IMAGE does not run bash, head and grep"
  log "$SHELL_IMAGE built (content hash $shell_hash)"
fi

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
