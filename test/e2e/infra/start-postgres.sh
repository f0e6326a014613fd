#!/usr/bin/env bash
# Start a dedicated PostgreSQL cluster for the end-to-end tests, create a role
# (LOGIN CREATEDB: each test creates and drops its own scratch database), a
# database owned by it, and a second role with LOGIN only (the tests grant it, in
# their scratch databases, exactly what client re-seeding needs), and write the
# connection details to $ENV_FILE.
# Idempotent: an existing cluster, role and database are reused.
#
# How containers reach this PostgreSQL: the tests talk only to loopback, but the
# Identity Service container runs on Docker's default bridge, where 127.0.0.1 is
# the container itself. There is no PostgreSQL image to run next to it (no
# registry) and the component under test does not use host networking. So the
# cluster also listens on the docker0 bridge gateway address (an interface of this
# machine, not an external network) and pg_hba accepts password (scram) logins
# from the bridge subnet only (this machine's own connections to the gateway keep
# their bridge source address: see the NAT rule below). The gateway address is written to the env file as
# PGHOST_FROM_CONTAINERS. Start Docker first (start-docker.sh); without it the
# cluster listens on loopback only and PGHOST_FROM_CONTAINERS is left out.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_ROLE=cis_e2e
PG_DB=cis_e2e
# Holds nothing but LOGIN: what it may do in a scratch database is what that test grants it.
PG_RESEED_ROLE=cis_e2e_reseed

command -v pg_ctlcluster >/dev/null || die "PostgreSQL is not installed (apt-get install -y postgresql)"
[ "$(id -u)" = 0 ] || die "managing a PostgreSQL cluster needs root"

# Newest installed server version (Debian bookworm ships 15).
PG_VERSION=${PG_VERSION:-$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)}
[ -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ] || die "no PostgreSQL server found in /usr/lib/postgresql"
CONF_DIR="/etc/postgresql/$PG_VERSION/$PG_CLUSTER"

cluster_field() { pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" -v f="$1" '$1 == v && $2 == c { print $f }'; }

if [ -z "$(cluster_field 2)" ]; then
  log "creating PostgreSQL $PG_VERSION cluster $PG_CLUSTER"
  # --start-conf=manual: the cluster is not started at boot, only by this script.
  pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --start-conf=manual >/dev/null
fi
PG_PORT=$(cluster_field 3)

# Address on the docker0 bridge, if Docker runs.
gateway=""
subnet=""
if docker_answers; then
  gateway=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)
  subnet=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' 2>/dev/null || true)
  if [ -z "$gateway" ]; then
    # Some engines leave Gateway empty in the IPAM config; the bridge interface has it.
    gateway=$(ip -4 -o addr show dev docker0 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
  fi
  if [ -z "$gateway" ] || [ -z "$subnet" ]; then die "Docker runs but the bridge network has no gateway/subnet"; fi
else
  log "Docker does not answer: listening on 127.0.0.1 only (run start-docker.sh first for container tests)"
fi

listen="127.0.0.1${gateway:+,$gateway}"
conf_file="$CONF_DIR/conf.d/e2e.conf"
new_conf="# Written by the e2e start-postgres.sh
listen_addresses = '$listen'"
hba_file="$CONF_DIR/pg_hba.conf"
hba_begin="# BEGIN e2e docker bridge"
hba_end="# END e2e docker bridge"
old_hba=$(cat "$hba_file")
new_hba=$(sed "/^$hba_begin\$/,/^$hba_end\$/d" "$hba_file")
if [ -n "$subnet" ]; then
  new_hba+=$'\n'"$hba_begin"$'\n'"host    all    $PG_ROLE,$PG_RESEED_ROLE    $subnet    scram-sha-256"$'\n'"$hba_end"
fi

# listen_addresses needs a restart; pg_hba.conf only a reload (the sessions of other tests stay up).
changed=0
hba_changed=0
if [ "$(cat "$conf_file" 2>/dev/null || true)" != "$new_conf" ]; then
  printf '%s\n' "$new_conf" >"$conf_file"
  chown postgres: "$conf_file"
  changed=1
fi
if [ "$old_hba" != "$new_hba" ]; then
  printf '%s\n' "$new_hba" >"$hba_file"
  hba_changed=1
fi

if [ "$(cluster_field 4)" = online ]; then
  if [ "$changed" = 1 ]; then
    log "restarting cluster $PG_VERSION/$PG_CLUSTER to apply listen changes"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart
  elif [ "$hba_changed" = 1 ]; then
    log "reloading cluster $PG_VERSION/$PG_CLUSTER to apply pg_hba changes"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" reload
  fi
else
  log "starting cluster $PG_VERSION/$PG_CLUSTER on port $PG_PORT (listen: $listen)"
  pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start \
    || die "cluster did not start; see /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
  echo "$PG_VERSION $PG_CLUSTER" >"$STATE_DIR/postgres.started"
fi

# This machine's own connections to the gateway address leave through lo, where Docker's MASQUERADE rule (for
# sources in the bridge subnet that do not leave through docker0) rewrites their source to another address of
# this machine, which pg_hba (bridge subnet only) refuses. One rule before Docker's keeps their source, so that
# a connection string naming the gateway works from containers and from this machine alike.
if [ -n "$gateway" ]; then
  command -v iptables >/dev/null || die "iptables is not installed (apt-get install -y iptables)"
  nat_rule=(POSTROUTING -s "$gateway/32" -o lo -j RETURN)
  # It must come first: a rule left by an earlier run sits behind the MASQUERADE rules a restarted dockerd puts
  # back at the top, where it never matches. So every copy is removed and one inserted at the top again.
  while iptables -t nat -D "${nat_rule[@]}" 2>/dev/null; do :; done
  iptables -t nat -I "${nat_rule[@]:0:1}" 1 "${nat_rule[@]:1}"
  echo "$gateway" >"$STATE_DIR/nat-exception"
fi

# From /: the postgres user may not be allowed into the caller's working directory.
psql_admin() ( cd / && runuser -u postgres -- psql --cluster "$PG_VERSION/$PG_CLUSTER" -X -q -A -t -v ON_ERROR_STOP=1 "$@" )

# One password per cluster, kept next to its configuration (root only), so that every
# session using this cluster, whatever its E2E_STATE_DIR, keeps a working env file.
password_file="$CONF_DIR/e2e-role-password"
if [ ! -s "$password_file" ]; then
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$password_file")
fi
password=$(cat "$password_file")

if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" ]; then
  psql_admin -c "CREATE ROLE $PG_ROLE LOGIN CREATEDB"
fi
# Through stdin with a psql variable, so the password is not on a command line.
psql_admin -v pw="$password" <<<"ALTER ROLE $PG_ROLE WITH LOGIN CREATEDB PASSWORD :'pw';"
reseed_password_file="$CONF_DIR/e2e-reseed-role-password"
if [ ! -s "$reseed_password_file" ]; then
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$reseed_password_file")
fi
reseed_password=$(cat "$reseed_password_file")
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_RESEED_ROLE'")" ]; then
  psql_admin -c "CREATE ROLE $PG_RESEED_ROLE LOGIN"
fi
psql_admin -v pw="$reseed_password" <<<"ALTER ROLE $PG_RESEED_ROLE WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD :'pw';"
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]; then
  # CREATE DATABASE cannot run inside a transaction: a -c of its own.
  psql_admin -c "CREATE DATABASE $PG_DB OWNER $PG_ROLE"
fi

# Check the login the tests will use.
PGPASSWORD="$password" psql -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DB" -c 'SELECT 1' >/dev/null \
  || die "cannot log in as $PG_ROLE on 127.0.0.1:$PG_PORT"

umask 077
{
  echo "PGHOST=127.0.0.1"
  echo "PGPORT=$PG_PORT"
  echo "PGDATABASE=$PG_DB"
  echo "PGUSER=$PG_ROLE"
  echo "PGPASSWORD=$password"
  echo "PGRESEED_USER=$PG_RESEED_ROLE"
  echo "PGRESEED_PASSWORD=$reseed_password"
  [ -z "$gateway" ] || echo "PGHOST_FROM_CONTAINERS=$gateway"
} >"$ENV_FILE"

log "PostgreSQL $PG_VERSION ready; connection details in $ENV_FILE:"
# Everything but the password, in a form a shell can eval.
sed -e 's/^/export /' -e '/^export PG\(RESEED_\)\?PASSWORD=/d' "$ENV_FILE"
echo "export E2E_POSTGRES_ENV_FILE=$ENV_FILE"
