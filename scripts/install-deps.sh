#!/usr/bin/env bash
# Install what authbench needs and a fresh Debian machine may lack: redis-server, PostgreSQL
# server binaries, docker-compose (used offline to validate docker-compose.yml), wrk (the
# reference load generator the load generator ceiling is compared with), h2load (nghttp2's
# HTTP/2 load generator, the second client of the TLS and HTTP/2 byte cross-check) and headless
# Chromium (the browser test opens the rendered report in it).
# Installs only what is missing; needs root (or passwordless sudo) for apt-get.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 || missing+=(chromium-headless-shell)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: everything present" >&2
  exit 0
fi
sudo=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root to install ${missing[*]}; install them yourself" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged servers; authbench runs its own throwaway ones on free ports.
for svc in redis-server postgresql; do
  if command -v systemctl >/dev/null 2>&1; then "${sudo[@]}" systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then "${sudo[@]}" service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-deps: done" >&2
