#!/usr/bin/env bash
# The benchmark: build in release, make sure PostgreSQL and Redis can be started, run a profile.
#
#   scripts/bench.sh                       # the quick profile (~3 min)
#   scripts/bench.sh --profile standard    # any `authbench run` option passes through
#
# Stores: AUTHBENCH_POSTGRES_URL / AUTHBENCH_REDIS_URL (or --postgres-url / --redis-url) when set,
# otherwise throwaway servers from local binaries, started and stopped by the run itself.
#
# Before the load test, the criterion microbenchmarks (cargo bench -p authbench-targets) fill
# target/criterion for the report's "Where the time goes" section:
#   AUTHBENCH_MICROBENCH=quick (default, about a minute) | full (criterion's statistics, ~7 min) | off
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

case "${AUTHBENCH_MICROBENCH:-quick}" in
  quick) echo "bench.sh: microbenchmarks, criterion --quick (AUTHBENCH_MICROBENCH=full for full statistics)" >&2
         cargo bench --locked -p authbench-targets -- --quick ;;
  full)  echo "bench.sh: microbenchmarks, full criterion statistics (~7 min)" >&2
         cargo bench --locked -p authbench-targets ;;
  off)   echo "bench.sh: microbenchmarks skipped (AUTHBENCH_MICROBENCH=off)" >&2 ;;
  *)     echo "bench.sh: AUTHBENCH_MICROBENCH must be quick, full or off" >&2; exit 2 ;;
esac

args=("$@")
if [[ " $* " != *" --profile "* && " $* " != *" --matrix "* ]]; then
  args=(--profile quick "${args[@]}")
fi
exec target/release/authbench run "${args[@]}"
