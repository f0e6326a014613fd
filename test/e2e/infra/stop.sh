#!/usr/bin/env bash
# Stop what the e2e scripts and tests started: containers labelled by the tests,
# the PostgreSQL cluster if start-postgres.sh started it, dockerd if
# start-docker.sh started it. Whatever is already gone is skipped. Images and the
# cluster's data are kept so that the next run is fast.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if command -v docker >/dev/null && docker_answers; then
  mapfile -t ids < <(docker ps -aq --filter "label=$E2E_LABEL")
  if [ "${#ids[@]}" -gt 0 ]; then
    log "removing ${#ids[@]} test container(s)"
    docker rm -f "${ids[@]}" >/dev/null || true
  fi
fi

if [ -f "$STATE_DIR/nat-exception" ]; then
  gateway=$(cat "$STATE_DIR/nat-exception")
  log "removing the NAT exception for $gateway"
  iptables -t nat -D POSTROUTING -s "$gateway/32" -o lo -j RETURN 2>/dev/null || true
  rm -f "$STATE_DIR/nat-exception"
fi

if [ -f "$STATE_DIR/postgres.started" ]; then
  read -r pg_version pg_cluster <"$STATE_DIR/postgres.started"
  if pg_lsclusters -h 2>/dev/null | awk -v v="$pg_version" -v c="$pg_cluster" '$1 == v && $2 == c && $4 == "online" { found = 1 } END { exit !found }'; then
    log "stopping PostgreSQL cluster $pg_version/$pg_cluster"
    pg_ctlcluster "$pg_version" "$pg_cluster" stop || log "could not stop cluster $pg_version/$pg_cluster"
  fi
  rm -f "$STATE_DIR/postgres.started"
fi

if [ -f "$STATE_DIR/dockerd.pid" ]; then
  pid=$(cat "$STATE_DIR/dockerd.pid")
  if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    for ((i = 0; i < 30; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then log "dockerd (pid $pid) is still running after 30s"; fi
  fi
  rm -f "$STATE_DIR/dockerd.pid"
fi
exit 0
