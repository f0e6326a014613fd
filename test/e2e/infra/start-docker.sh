#!/usr/bin/env bash
# Make sure a Docker Engine answers on /var/run/docker.sock; start dockerd in the
# background when it does not. Idempotent: an engine that already answers is used
# as it is (and stop.sh will not stop it).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WAIT_SECONDS=${DOCKER_START_TIMEOUT:-60}

command -v docker >/dev/null || die "the docker CLI is not installed (apt-get install -y docker.io)"

if docker_answers; then
  log "Docker Engine already answers ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi

command -v dockerd >/dev/null || die "dockerd is not installed (apt-get install -y docker.io)"
[ "$(id -u)" = 0 ] || die "starting dockerd needs root; start it yourself or run this as root"

dockerd_log="$STATE_DIR/dockerd.log"
log "starting dockerd (log: $dockerd_log)"
# setsid: dockerd must outlive this script and not receive the caller's signals.
# --ip: a port published without an address binds to loopback, not to every interface of this machine.
setsid dockerd --ip 127.0.0.1 >"$dockerd_log" 2>&1 </dev/null &
echo $! >"$STATE_DIR/dockerd.pid"

for ((i = 0; i < WAIT_SECONDS; i++)); do
  if docker_answers; then
    log "Docker Engine is up ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  if ! kill -0 "$(cat "$STATE_DIR/dockerd.pid")" 2>/dev/null; then
    tail -n 30 "$dockerd_log" >&2 || true
    rm -f "$STATE_DIR/dockerd.pid"
    die "dockerd exited during start-up (see $dockerd_log)"
  fi
  sleep 1
done
tail -n 30 "$dockerd_log" >&2 || true
die "dockerd did not answer on /var/run/docker.sock within ${WAIT_SECONDS}s (see $dockerd_log)"
