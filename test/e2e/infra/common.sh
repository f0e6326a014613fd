# shellcheck shell=bash disable=SC2034
# Shared settings for the end-to-end infrastructure scripts (sourced, not run).
# Everything these scripts start is recorded under STATE_DIR so that stop.sh
# stops exactly that and nothing else. Set E2E_STATE_DIR to a private folder
# (as .ci/run does) when other sessions on the same machine use these scripts too:
# then stop.sh leaves alone a dockerd or cluster that another session started.

E2E_NAME=creatio-identity-service-e2e
# Label put on every container and image the end-to-end tests create.
E2E_LABEL=$E2E_NAME
STATE_DIR="${E2E_STATE_DIR:-${TMPDIR:-/tmp}/$E2E_NAME}"
# Connection details written by start-postgres.sh and read by the tests.
ENV_FILE="$STATE_DIR/postgres.env"
# Dedicated PostgreSQL cluster, so a developer's own "main" cluster is left alone.
PG_CLUSTER=cis_e2e

mkdir -p "$STATE_DIR"
chmod 700 "$STATE_DIR"

log() { printf '[e2e-infra] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# For the scripts that build images from this machine's own programs:
# the files of the given programs and of every library they link, one path a line.
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

# The id of an image with the given content hash (label $E2E_NAME.content-hash), if any.
existing() {
  docker images -q --filter "label=$E2E_NAME.content-hash=$1" | head -n 1
}
