#!/usr/bin/env bash
# Builds, without any registry, creatio-identity-service-e2e/node-shell-base:local: the node base image
# (build-base-image.sh, built first) plus this machine's own `bash`, `head` and `grep` (Debian packages bash, coreutils,
# grep) with the libraries they link. Microsoft's ASP.NET Core images, which the vendor's Dockerfile-OAuth builds on, are
# Debian `bookworm-slim` (8.0) or `bullseye-slim` (6.0): these three programs are what the package's default health
# check needs there, and on a Debian 12 machine they are the very packages of `bookworm-slim`. The stand-in Identity
# Service is built on it (Docker and Swarm suites) so that the default probe runs.
#
# Skipped when an image with the same content hash exists.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

BASE=${BASE_IMAGE:-$E2E_NAME/node-base:local}
SHELL_IMAGE=${SHELL_IMAGE:-$E2E_NAME/node-shell-base:local}
HASH_LABEL=$E2E_NAME.content-hash

docker_answers || die "Docker does not answer; run start-docker.sh first"
docker image inspect "$BASE" >/dev/null 2>&1 || die "$BASE is missing; run test/e2e/infra/build-base-image.sh first"

work=$(mktemp -d "${TMPDIR:-/tmp}/$E2E_NAME-shell-base.XXXXXX")
trap 'rm -rf "$work"' EXIT

bash_bin=$(command -v bash) head_bin=$(command -v head) grep_bin=$(command -v grep)
mapfile -t shell_files < <(closure "$bash_bin" "$head_bin" "$grep_bin")
base_id=$(docker image inspect --format '{{.Id}}' "$BASE")
shell_hash=$({ echo "$base_id"; sha256sum "${BASH_SOURCE[0]}" "${shell_files[@]}" | awk '{ print $1 }'; } | sha256sum | cut -c1-32)
if [ -n "$(existing "$shell_hash")" ]; then
  docker tag "$(existing "$shell_hash")" "$SHELL_IMAGE"
  log "$SHELL_IMAGE is up to date (content hash $shell_hash)"
  exit 0
fi
mkdir -p "$work/root/usr/bin"
stage "$work/root" "${shell_files[@]}"
# The probe calls them by name: put them where PATH finds them whatever the machine's layout.
cp -L "$bash_bin" "$work/root/usr/bin/bash"
cp -L "$head_bin" "$work/root/usr/bin/head"
cp -L "$grep_bin" "$work/root/usr/bin/grep"
printf 'FROM %s\nCOPY root/ /\nLABEL %s=1 %s=%s\n' "$BASE" "$E2E_LABEL" "$HASH_LABEL" "$shell_hash" >"$work/Dockerfile"
docker build -q -t "$SHELL_IMAGE" "$work" >/dev/null
docker run --rm --label "$E2E_LABEL=1" --entrypoint /usr/bin/bash "$SHELL_IMAGE" -c 'head --version | head -n 1 && grep --version | head -n 1' >&2 \
  || die "$SHELL_IMAGE does not run bash, head and grep"
log "$SHELL_IMAGE built (content hash $shell_hash)"
