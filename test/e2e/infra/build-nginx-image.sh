#!/usr/bin/env bash
# Builds, without any registry, creatio-identity-service-e2e/nginx:local: this machine's own nginx (the Debian
# package nginx, installed by tools/test-all.sh for the e2e suite) with the libraries it links, for the tests that put
# a real TLS-terminating reverse proxy in front of the service (test/e2e/proxy.e2e.test.ts). The tests run it on a
# Docker network of their own, with the configuration and certificates they copy in; nothing is configured here.
#
# The image holds the folders Debian's build of nginx opens on start (its temporary folders under /var/lib/nginx,
# /var/log/nginx, /run) and an account `nobody` for its worker processes. Skipped when an image with the same content
# hash exists. Prints the image name on stdout.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

IMAGE=${NGINX_IMAGE:-$E2E_NAME/nginx:local}
HASH_LABEL=$E2E_NAME.content-hash

docker_answers || die "Docker does not answer; run start-docker.sh first"
nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || nginx_bin=/usr/sbin/nginx
[ -x "$nginx_bin" ] || die "nginx is not installed (Debian package nginx; tools/test-all.sh e2e installs it)"

# The files of nginx and of every library it links, one path a line.
mapfile -t files < <({ readlink -f "$nginx_bin"; ldd "$nginx_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'; } | sort -u)
content_hash=$({ sha256sum "${BASH_SOURCE[0]}" "${files[@]}" | awk '{ print $1 }'; printf '%s\n' "${files[@]}"; } | sha256sum | cut -c1-32)

existing=$(docker images -q --filter "label=$HASH_LABEL=$content_hash" | head -n 1)
if [ -n "$existing" ]; then
  docker tag "$existing" "$IMAGE"
  log "$IMAGE is up to date (content hash $content_hash)"
  echo "$IMAGE"
  exit 0
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/$E2E_NAME-nginx.XXXXXX")
trap 'rm -rf "$root"' EXIT
for file in "${files[@]}"; do
  mkdir -p "$root$(dirname "$file")"
  cp -L "$file" "$root$file"
done
install -D -m 0755 "$nginx_bin" "$root/usr/sbin/nginx"
install -d -m 0755 "$root/etc/nginx" "$root/var/log/nginx" "$root/run" "$root/var/lock"
install -d -m 0700 "$root/var/lib/nginx"
install -d -m 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar -C "$root" -c . | docker import \
  --change 'ENTRYPOINT ["/usr/sbin/nginx", "-g", "daemon off;"]' \
  --change "LABEL $E2E_LABEL=1 $HASH_LABEL=$content_hash" \
  - "$IMAGE" >/dev/null
docker run --rm --label "$E2E_LABEL=1" --entrypoint /usr/sbin/nginx "$IMAGE" -v >&2 2>&1 || die "$IMAGE does not run nginx"
log "$IMAGE built (content hash $content_hash)"
echo "$IMAGE"
