#!/usr/bin/env bash
# Build the local base image creatio-identity-service-e2e/node-base:local without
# any registry: a root filesystem holding this machine's node binary, the shared
# libraries it links (paths kept, dynamic loader included), /tmp, a one-line
# /etc/passwd and /opt/node_modules with the repository's installed `pg` and
# `@tediousjs/connection-string` plus their runtime dependency closure, imported
# with `docker import`. Skipped when an image with the same content hash exists.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

IMAGE=${BASE_IMAGE:-$E2E_NAME/node-base:local}
HASH_LABEL=$E2E_NAME.content-hash
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
MODULES=(pg @tediousjs/connection-string)

docker_answers || die "Docker does not answer; run start-docker.sh first"
node_bin=$(readlink -f "$(command -v node)") || die "node is not installed"
[ -d "$REPO_ROOT/node_modules" ] || die "no node_modules in $REPO_ROOT; run npm ci first"

# Shared libraries: "name => /path (addr)" or "/path (addr)" for the loader.
mapfile -t libs < <(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
[ "${#libs[@]}" -gt 0 ] || die "ldd listed no libraries for $node_bin"

# Package folders (relative to the repository) of the modules and their
# `dependencies`/`optionalDependencies`, resolved the way Node resolves them:
# <dir>/node_modules/<name>, then each parent folder's node_modules.
mapfile -t packages < <(cd "$REPO_ROOT" && node - "${MODULES[@]}" <<'NODE'
const fs = require("fs");
const path = require("path");
const root = process.cwd();
const seen = new Set();
function resolve(from, name, optional) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (dir === root || path.dirname(dir) === dir) break;
  }
  if (optional) return undefined;
  throw new Error(`cannot resolve ${name} from ${path.relative(root, from) || "."}`);
}
function visit(dir) {
  if (!dir || seen.has(dir)) return;
  seen.add(dir);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  for (const name of Object.keys(pkg.dependencies || {})) visit(resolve(dir, name, false));
  for (const name of Object.keys(pkg.optionalDependencies || {})) visit(resolve(dir, name, true));
}
for (const name of process.argv.slice(2)) visit(resolve(root, name, false));
for (const dir of [...seen].sort()) console.log(path.relative(root, dir));
NODE
)

# Content hash over everything that goes into the image (and this script).
content_hash=$(
  {
    sha256sum "${BASH_SOURCE[0]}" "$node_bin" "${libs[@]}" | awk '{ print $1 }'
    printf '%s\n' "${libs[@]}" "${packages[@]}"
    (cd "$REPO_ROOT" && for p in "${packages[@]}"; do
      find "$p" -path "$p/node_modules" -prune -o -type f -print0 | sort -z | xargs -0 sha256sum
    done)
  } | sha256sum | cut -c1-32
)

# Images built FROM the base inherit its labels, the content hash included: only an image whose history is the
# single import step is the base itself (tagging a derived image as the base would stack layers run after run).
existing=""
for candidate in $(docker images -q --filter "label=$HASH_LABEL=$content_hash" | sort -u); do
  if [ "$(docker history -q "$candidate" | wc -l)" -eq 1 ]; then
    existing=$candidate
    break
  fi
done
if [ -n "$existing" ]; then
  docker tag "$existing" "$IMAGE"
  log "$IMAGE is up to date (content hash $content_hash)"
  exit 0
fi

rootfs=$(mktemp -d "${TMPDIR:-/tmp}/$E2E_NAME-rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT

install -D -m 0755 "$node_bin" "$rootfs/usr/bin/node"
for lib in "${libs[@]}"; do
  # -L: copy the file a symlink points at, under the path ldd printed.
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
install -d -m 1777 "$rootfs/tmp"
install -d -m 0700 "$rootfs/root"
install -d -m 0755 "$rootfs/etc"
echo 'root:x:0:0:root:/root:/usr/bin/node' >"$rootfs/etc/passwd"
for p in "${packages[@]}"; do
  # node_modules/<a>/node_modules/<b> -> /opt/node_modules/<a>/node_modules/<b>
  dest="$rootfs/opt/${p}"
  mkdir -p "$dest"
  (cd "$REPO_ROOT/$p" && tar --exclude=./node_modules -c .) | tar -C "$dest" -x
done

log "importing $IMAGE (node $("$node_bin" --version), ${#libs[@]} libraries, ${#packages[@]} packages)"
tar -C "$rootfs" -c . | docker import \
  --change "ENV NODE_PATH=/opt/node_modules" \
  --change "LABEL $E2E_LABEL=1 $HASH_LABEL=$content_hash" \
  --change 'CMD ["/usr/bin/node"]' \
  - "$IMAGE" >/dev/null

docker run --rm --label "$E2E_LABEL=1" "$IMAGE" /usr/bin/node -e \
  'require("pg"); require("@tediousjs/connection-string"); console.log("node " + process.version + " with pg")' >&2 \
  || die "the imported image does not run node with its modules"
log "$IMAGE built (content hash $content_hash)"
