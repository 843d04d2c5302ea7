#!/usr/bin/env bash
# Runs each target beside its same-shape handler (authbench-shape: the same work, nothing else) and
# prints the throughput ratios: wrk -t1 -c64 against one, then the other, alternating, medians.
#
#   scripts/same-shape.sh [--rounds N] [--duration 5s] [--connections 64] [--target-bin PATH] [KIND...]
#
# --target-bin measures another build of authbench-target (e.g. an older commit's) against the same
# handlers.
# KIND: none jwt redis postgres (default: all). Stores come from AUTHBENCH_REDIS_URL /
# AUTHBENCH_POSTGRES_URL, or throwaway ones are started (scripts/services.sh) and stopped after.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=2 duration=5s connections=64 target_bin="" kinds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --target-bin) target_bin=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    none|jwt|redis|postgres) kinds+=("$1"); shift ;;
    *) echo "same-shape.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#kinds[@]} -gt 0 ] || kinds=(none jwt redis postgres)
command -v wrk >/dev/null || { echo "same-shape.sh: wrk missing: run scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d); chmod 700 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -f "$work/services/env" ]; then scripts/services.sh down --dir "$work/services" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ -z "${AUTHBENCH_REDIS_URL:-}" ] || [ -z "${AUTHBENCH_POSTGRES_URL:-}" ]; then
  echo "starting throwaway PostgreSQL and Redis (scripts/services.sh) ..." >&2
  scripts/services.sh up --dir "$work/services" >&2
  # shellcheck disable=SC1091
  source "$work/services/env"
fi
echo "building (release) ..." >&2
cargo build --release -q -p authbench-targets --bins
bin=target/release
target_bin=${target_bin:-$bin/authbench-target}

# start NAME CMD...: runs a server in the background (its pid kept for cleanup), waits for its
# "listening on" line and sets $url to its URL.
start() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do
    if grep -q "listening on" "$work/$name.out" 2>/dev/null; then
      url=$(sed -n 's/.*listening on //p' "$work/$name.out" | head -1); return
    fi
    sleep 0.1
  done
  echo "same-shape.sh: $name did not start: $(tail -3 "$work/$name.err")" >&2; exit 1
}

rps() { wrk -t1 -c"$connections" -d"$duration" -H "authorization: Bearer $2" "$1/api/me" | awk '/Requests\/sec/ {print $2}'; }

printf '| target | authbench-target req/s | same-shape req/s | ratio per round | median ratio |\n|---|---|---|---|---|\n'
for kind in "${kinds[@]}"; do
  ns="shape_${kind}_$$"
  case $kind in
    none) targs=(--strategy none) shape=floor ;;
    jwt) targs=(--strategy jwt) shape=jwt ;;
    redis) targs=(--strategy session --store redis) shape=redis ;;
    postgres) targs=(--strategy session --store postgres) shape=postgres ;;
  esac
  start "target-$kind" "$target_bin" "${targs[@]}" --listen 127.0.0.1:0 --key-dir "$work/keys" \
      --namespace "$ns" --seed-users 10 --argon2-m-kib 1024 --argon2-t 1
  t=$url
  start "shape-$kind" "$bin/authbench-shape" --kind "$shape" --workers "$(nproc)" --key-dir "$work/keys" --namespace "$ns"
  s=$url
  token=$(curl -sf -XPOST -H 'content-type: application/json' -d '{"username":"user1","password":"pass-1"}' "$t/auth/login" \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  for url in "$t" "$s"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $token" "$url/api/me")
    [ "$code" = 200 ] || { echo "same-shape.sh: $url/api/me answered $code for $kind" >&2; exit 1; }
  done
  a=() b=() r=()
  for _ in $(seq "$rounds"); do
    x=$(rps "$t" "$token"); y=$(rps "$s" "$token")
    a+=("$x") b+=("$y") r+=("$(python3 -c "print(f'{$x/$y:.2f}')")")
  done
  python3 - "$kind" "${a[*]}" "${b[*]}" "${r[*]}" <<'PY'
import statistics, sys
kind, a, b, r = sys.argv[1], *[list(map(float, v.split())) for v in sys.argv[2:]]
print(f"| {kind} | {statistics.median(a):,.0f} | {statistics.median(b):,.0f} | {' – '.join(f'{x:.2f}' for x in r)} | {statistics.median(r):.2f} |")
PY
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
done
