#!/usr/bin/env bash
# The test command: provision throwaway PostgreSQL, Redis and a three-master Redis Cluster, run the
# whole workspace's tests (every store test runs against the real servers; none is skipped), tear
# the servers down.
#
#   scripts/test.sh [extra cargo test arguments]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/authbench-test.XXXXXX")"
chmod 755 "$run_dir"
cleanup() { scripts/services.sh down --dir "$run_dir/services" >/dev/null 2>&1 || true; rm -rf "$run_dir"; }
trap cleanup EXIT INT TERM

scripts/install-deps.sh
echo "test.sh: starting throwaway PostgreSQL, Redis and Redis Cluster" >&2
scripts/services.sh up --dir "$run_dir/services" >/dev/null
# shellcheck disable=SC1091
source "$run_dir/services/env"
echo "test.sh: PostgreSQL $AUTHBENCH_POSTGRES_URL, Redis $AUTHBENCH_REDIS_URL, Redis Cluster $AUTHBENCH_REDIS_CLUSTER_URL" >&2

cargo test --workspace --all-targets "$@"
