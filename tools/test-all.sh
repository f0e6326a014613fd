#!/usr/bin/env bash
# Sets up a fresh Debian machine for every test suite and runs them all: `npm run test:all`, or
# `tools/test-all.sh <suite>...` for some of them (`tools/test-all.sh --list` lists them).
#
# It installs only what the chosen suites need (Debian packages with apt-get, `npm ci`, `dotnet tool restore`,
# a native build of tree-sitter when its prebuilt binary does not load), starts the servers they need (Docker
# Engine, PostgreSQL, on loopback and the Docker bridge only) and stops them again on exit. Every suite runs even
# after one fails; a summary with each suite's result and time closes the run, and the exit code is non-zero when
# any suite failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The suites, in the order they run: <name> <npm script> <needs>...
# To add a suite: add its npm script to package.json and one line here. Each need names a `need_<need>` function
# below; a new kind of need is one more function.
SUITES=(
  "unit      test          openssl"           # build, type check, lint, unit tests: Node only (openssl: see need_openssl)
  "grammar   test:grammar  native-build"      # PowerShell scripts parsed with tree-sitter-powershell
  "mono      test:mono     mono"              # the IIS configuration patcher compiled and run with Mono
  "dotnet    test:dotnet   dotnet"            # the generated signing PFX loaded by .NET, as the service loads it
  "e2e       test:e2e      docker postgres nginx openssl" # deployments against a real Docker Engine and PostgreSQL, one behind a real nginx
  "swarm     test:swarm    docker postgres swarm" # the Swarm target on a real single-node swarm, with load during updates
  "pwsh      test:pwsh     pwsh sshd postgres" # the IIS steps in PowerShell 7 against a stand-in IIS, also over OpenSSH
  "doubles   test:doubles  docker postgres pwsh" # the test doubles checked against the real parts' rules (not tests of the package); the stand-in Creatio also in a container, the stand-in IIS in PowerShell
)

step() { printf '\n=== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- needs: each adds Debian packages to APT_PACKAGES (when the command is missing) and/or a setup step to SETUP.
APT_PACKAGES=()
# Packages whose service must not start when they are installed (see install_without_starting).
APT_PACKAGES_NOT_STARTED=()
SETUP=()
apt_for() { # apt_for <command> <package>...: install the packages when the command is missing
  local command=$1
  shift
  command -v "$command" >/dev/null || APT_PACKAGES+=("$@")
}
need_native-build() {
  # tree-sitter's prebuilt binary needs GLIBCXX_3.4.31, newer than Debian 12's libstdc++; `npm ci` does not run its
  # install script (package.json allowScripts), so it is built from source here when the prebuilt does not load.
  apt_for g++ g++
  apt_for make make
  apt_for python3 python3
  SETUP+=(setup_tree_sitter)
}
need_openssl() {
  # Optional for the unit suite: without the openssl CLI, the tests that read generated PFX files back with it skip.
  apt_for openssl openssl
}
need_mono() {
  apt_for mcs mono-mcs libmono-system-xml4.0-cil
  apt_for mono mono-runtime
}
need_docker() {
  apt_for dockerd docker.io
  # start-postgres.sh keeps this machine's own connections to the bridge gateway unmasqueraded.
  apt_for iptables iptables
  SETUP+=(setup_docker)
}
need_nginx() {
  # The proxy e2e copies this machine's nginx into an image and runs it on a Docker network of its own
  # (test/e2e/infra/build-nginx-image.sh). Debian's package would start a server on port 80 of every address.
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || APT_PACKAGES_NOT_STARTED+=(nginx)
}
need_postgres() {
  apt_for pg_ctlcluster postgresql
  SETUP+=(setup_postgres)
}
need_swarm() {
  # The suite runs `docker swarm init --advertise-addr 127.0.0.1` itself when the engine is not in a swarm, and
  # leaves the swarm again at its end. Its Redis image is built from this machine's redis-server
  # (test/e2e/swarm/build-images.sh); the server itself is never started here.
  command -v docker >/dev/null || apt_for dockerd docker.io
  apt_for redis-server redis-server
}
need_dotnet() {
  # The .NET SDK is not a Debian package; the machines that build this package have it (as for need_pwsh).
  SETUP+=(setup_dotnet)
}
need_pwsh() {
  # PowerShell as a .NET tool, pinned in .config/dotnet-tools.json.
  SETUP+=(setup_dotnet_tools)
}
need_sshd() {
  # The OpenSSH server and client; the tests start their own sshd on 127.0.0.1 with their own configuration.
  apt_for sshd openssh-server
  apt_for ssh openssh-client
}

# Installs packages with their services kept from starting: invoke-rc.d and deb-systemd-invoke ask
# /usr/sbin/policy-rc.d, and exit code 101 forbids the start (invoke-rc.d(8)); one is put there for the install
# unless the machine has its own. Under systemd the units are disabled too, so that no boot starts them.
install_without_starting() {
  local policy=/usr/sbin/policy-rc.d created=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 0755 "$policy"
    created=1
  fi
  local status=0
  as_root apt-get install -y --no-install-recommends "$@" || status=$?
  [ -z "$created" ] || as_root rm -f "$policy"
  if [ -d /run/systemd/system ]; then
    local package
    for package in "$@"; do as_root systemctl disable "$package" >/dev/null 2>&1 || true; done
  fi
  return "$status"
}

setup_tree_sitter() {
  if ! node -e 'require("tree-sitter")' 2>/dev/null; then
    # Against the headers of the Node that runs the tests, so node-gyp downloads nothing.
    local node_prefix
    node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
    (cd node_modules/tree-sitter && ../.bin/node-gyp rebuild --loglevel=warn --nodedir="$node_prefix" >/dev/null)
    node -e 'require("tree-sitter")'
  fi
}
setup_docker() { test/e2e/infra/start-docker.sh; }
setup_postgres() { test/e2e/infra/start-postgres.sh; } # after Docker: it listens on the bridge gateway too
setup_dotnet() { command -v dotnet >/dev/null || { echo "the .NET SDK (dotnet) is needed: install it" >&2; return 1; }; }
setup_dotnet_tools() {
  if [ -f .config/dotnet-tools.json ]; then
    command -v dotnet >/dev/null || { echo "dotnet is needed for .config/dotnet-tools.json (install the .NET SDK)" >&2; return 1; }
    dotnet tool restore
  fi
}

# --- which suites
if [ "${1:-}" = --list ]; then
  for suite in "${SUITES[@]}"; do read -r name script needs <<<"$suite"; printf '%-10s npm run %-14s needs: %s\n' "$name" "$script" "${needs:-Node only}"; done
  exit 0
fi
selected=()
for suite in "${SUITES[@]}"; do
  read -r name _ <<<"$suite"
  if [ "$#" -eq 0 ] || printf '%s\n' "$@" | grep -qx "$name"; then selected+=("$suite"); fi
done
for wanted in "$@"; do
  printf '%s\n' "${SUITES[@]}" | awk '{ print $1 }' | grep -qx "$wanted" || { echo "unknown suite: $wanted (tools/test-all.sh --list)" >&2; exit 2; }
done

for suite in "${selected[@]}"; do
  read -r _ _ needs <<<"$suite"
  for need in $needs; do "need_$need"; done
done

# A private state folder for the servers: stop.sh then stops only what this run started itself.
if [ -z "${E2E_STATE_DIR:-}" ]; then
  E2E_STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/creatio-identity-service-tests.XXXXXX")
  export E2E_STATE_DIR
  trap 'test/e2e/infra/stop.sh; rm -rf "$E2E_STATE_DIR"' EXIT
else
  trap 'test/e2e/infra/stop.sh' EXIT
fi

if [ "${#APT_PACKAGES[@]}" -gt 0 ] || [ "${#APT_PACKAGES_NOT_STARTED[@]}" -gt 0 ]; then
  step "Debian packages: ${APT_PACKAGES[*]} ${APT_PACKAGES_NOT_STARTED[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update
  [ "${#APT_PACKAGES[@]}" -eq 0 ] || as_root apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
  [ "${#APT_PACKAGES_NOT_STARTED[@]}" -eq 0 ] || install_without_starting "${APT_PACKAGES_NOT_STARTED[@]}"
fi

if [ ! -d node_modules ] || [ "${CI:-}" = true ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

# Each setup step once, in the order the needs named them.
declare -A done_setup=()
for setup in "${SETUP[@]}"; do
  [ -n "${done_setup[$setup]:-}" ] && continue
  done_setup[$setup]=1
  step "setup: ${setup#setup_}"
  "$setup"
done

results=()
failed=0
for suite in "${selected[@]}"; do
  read -r name script _ <<<"$suite"
  step "suite $name: npm run $script"
  started=$SECONDS
  if npm run "$script"; then status=passed; else status=FAILED; failed=1; fi
  results+=("$(printf '%-10s %-7s %5d s   npm run %s' "$name" "$status" $((SECONDS - started)) "$script")")
done

step "summary"
printf '%s\n' "${results[@]}"
exit "$failed"
