#!/usr/bin/env bash
# The benchmark: build in release, make sure PostgreSQL and Redis can be started, run a profile.
#
#   scripts/bench.sh                       # the quick profile (~3 min)
#   scripts/bench.sh --profile standard    # any `authbench run` option passes through
#
# Stores: AUTHBENCH_POSTGRES_URL / AUTHBENCH_REDIS_URL (or --postgres-url / --redis-url) when set,
# otherwise throwaway servers from local binaries, started and stopped by the run itself.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ -z "${AUTHBENCH_POSTGRES_URL:-}" || -z "${AUTHBENCH_REDIS_URL:-}" ]]; then
  if [[ "$(id -u)" == 0 ]] || command -v sudo >/dev/null 2>&1; then
    scripts/install-deps.sh
  else
    echo "bench.sh: not root: cannot install missing servers; cases needing them will be skipped and listed" >&2
  fi
fi

echo "bench.sh: building in release (first build takes a few minutes)" >&2
cargo build --release --locked -p authbench-targets -p authbench-harness

args=("$@")
if [[ " $* " != *" --profile "* && " $* " != *" --matrix "* ]]; then
  args=(--profile quick "${args[@]}")
fi
exec target/release/authbench run "${args[@]}"
