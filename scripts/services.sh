#!/usr/bin/env bash
# Start or stop throwaway PostgreSQL and Redis for authbench on free loopback ports.
#
#   scripts/services.sh up     [--dir DIR]   start both, print their URLs, write DIR/env
#   scripts/services.sh down   [--dir DIR]   stop both and delete DIR
#   scripts/services.sh status [--dir DIR]   say what is running
#
# Uses docker-compose.yml when a Docker engine answers, local binaries otherwise.
# PostgreSQL refuses to run as root; as root it is started as the `postgres` user.
# `source DIR/env` (default DIR: /tmp/authbench-services) exports AUTHBENCH_POSTGRES_URL and
# AUTHBENCH_REDIS_URL, which authbench-target and the tests read.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cmd="${1:-}"
shift || true
dir="${AUTHBENCH_SERVICES_DIR:-/tmp/authbench-services}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    *) echo "services.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "services.sh: $*" >&2; exit 1; }

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( (RANDOM % 30000) + 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port found between 20000 and 50000"
}

wait_port() {
  local port="$1" what="$2"
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  die "$what did not start listening on port $port; see $dir/*.log"
}

pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    [[ -x "$d/initdb" ]] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  die "PostgreSQL server binaries not found: run scripts/install-deps.sh (apt-get install postgresql) or use --postgres-url"
}

as_pg() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

docker_up() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 || return 1
  local compose
  if docker compose version >/dev/null 2>&1; then compose=(docker compose); elif command -v docker-compose >/dev/null 2>&1; then compose=(docker-compose); else return 1; fi
  local pg_port redis_port
  pg_port=$(free_port); redis_port=$(free_port)
  AUTHBENCH_PG_PORT=$pg_port AUTHBENCH_REDIS_PORT=$redis_port "${compose[@]}" -f "$root/docker-compose.yml" -p "authbench-$(basename "$dir")" up -d --wait postgres redis >&2
  echo "docker" > "$dir/mode"
  echo "$pg_port" > "$dir/pg.port"; echo "$redis_port" > "$dir/redis.port"
  printf 'postgres://authbench:authbench@127.0.0.1:%s/authbench\n' "$pg_port" > "$dir/pg.url"
}

local_up() {
  local bin pg_port redis_port
  bin=$(pg_bin)
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found: run scripts/install-deps.sh (apt-get install redis-server) or use --redis-url"
  echo "local" > "$dir/mode"
  pg_port=$(free_port)
  mkdir -p "$dir/pg"
  if [[ "$(id -u)" == 0 ]]; then chown -R postgres:postgres "$dir/pg"; chmod 755 "$dir"; fi
  as_pg "$bin/initdb" -D "$dir/pg/data" -U authbench --auth=trust -E UTF8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 \
    || die "initdb failed; see $dir/initdb.log"
  as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 30 \
    -o "-p $pg_port -k $dir/pg -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null \
    || die "PostgreSQL did not start; see $dir/pg/server.log"
  echo "$bin" > "$dir/pg.bin"; echo "$pg_port" > "$dir/pg.port"
  printf 'postgres://authbench@127.0.0.1:%s/postgres\n' "$pg_port" > "$dir/pg.url"

  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  wait_port "$redis_port" "redis-server"
  echo "$redis_port" > "$dir/redis.port"
}

case "$cmd" in
  up)
    if [[ -f "$dir/env" ]]; then
      echo "services already up (from $dir/env); run scripts/services.sh down first" >&2
      cat "$dir/env"; exit 0
    fi
    mkdir -p "$dir"
    docker_up || local_up
    pg_url=$(cat "$dir/pg.url"); redis_url="redis://127.0.0.1:$(cat "$dir/redis.port")"
    printf 'export AUTHBENCH_POSTGRES_URL=%s\nexport AUTHBENCH_REDIS_URL=%s\n' "$pg_url" "$redis_url" > "$dir/env"
    echo "PostgreSQL: $pg_url ($(cat "$dir/mode"))" >&2
    echo "Redis:      $redis_url ($(cat "$dir/mode"))" >&2
    echo "to use them: source $dir/env" >&2
    cat "$dir/env"
    ;;
  down)
    [[ -d "$dir" ]] || { echo "nothing running under $dir" >&2; exit 0; }
    if [[ "$(cat "$dir/mode" 2>/dev/null)" == docker ]]; then
      (docker compose version >/dev/null 2>&1 && docker compose -f "$root/docker-compose.yml" -p "authbench-$(basename "$dir")" down -v) \
        || docker-compose -f "$root/docker-compose.yml" -p "authbench-$(basename "$dir")" down -v || true
    else
      if [[ -f "$dir/pg.bin" && -d "$dir/pg/data" ]]; then
        as_pg "$(cat "$dir/pg.bin")/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
      fi
      if [[ -f "$dir/redis.pid" ]]; then kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; fi
    fi
    rm -rf "$dir"
    echo "stopped services under $dir" >&2
    ;;
  status)
    if [[ -f "$dir/env" ]]; then cat "$dir/env"; else echo "no services under $dir" >&2; exit 1; fi
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
