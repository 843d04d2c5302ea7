#!/usr/bin/env bash
# Start or stop throwaway PostgreSQL, Redis and a three-master Redis Cluster for authbench on
# free loopback ports.
#
#   scripts/services.sh up     [--dir DIR]   start them, print their URLs, write DIR/env
#   scripts/services.sh down    --dir DIR    stop them and delete DIR
#   scripts/services.sh status  --dir DIR    say what is running
#
# Uses docker-compose.yml when a Docker engine answers, local binaries otherwise; the cluster always
# runs from local binaries (redis-server, redis-cli), whose nodes announce their loopback ports.
# Without --dir (or AUTHBENCH_SERVICES_DIR), up makes a fresh private directory with mktemp and
# prints it. DIR must be yours and writable by nobody else: DIR/env is sourced.
# PostgreSQL refuses to run as root; as root its cluster lives in a fresh directory of its own
# under ${TMPDIR:-/tmp}, owned by the `postgres` user, so DIR may stay private to root.
# `source DIR/env` exports AUTHBENCH_POSTGRES_URL, AUTHBENCH_REDIS_URL and
# AUTHBENCH_REDIS_CLUSTER_URL, which authbench-target and the tests read, and
# AUTHBENCH_SERVICES_DIR, so that a later down or status finds DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cmd="${1:-}"
shift || true
dir="${AUTHBENCH_SERVICES_DIR:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) [[ $# -ge 2 && -n "$2" ]] || { echo "services.sh: --dir needs a directory" >&2; exit 2; }; dir="$2"; shift 2 ;;
    *) echo "services.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "services.sh: $*" >&2; exit 1; }

# DIR/env is sourced and, as root, DIR holds what root runs: DIR must be a real directory of ours
# that nobody else can write to.
check_private() {
  [[ -L "$dir" ]] && die "$dir is a symbolic link; pass a real directory with --dir"
  [[ -d "$dir" ]] || die "$dir is not a directory"
  [[ "$(stat -c %u -- "$dir")" == "$(id -u)" ]] || die "$dir belongs to another user; pass a directory of yours with --dir"
  local perms
  perms=$(stat -c %a -- "$dir")
  (( (8#$perms & 8#022) == 0 )) || die "$dir is writable by group or others (mode $perms); use a private directory (chmod 700) or omit --dir"
}

# The kernel's ephemeral range (client ends of connections): ports chosen here stay below it, so
# a connection opened elsewhere on the machine cannot hold a port between its choice and its bind.
ephemeral_low() {
  local low
  read -r low _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
  echo "$low"
}

# A loopback port in [LOW, HIGH) that nothing listens on.
free_port_in() {
  local low="$1" high="$2" p
  for _ in $(seq 1 200); do
    p=$(( low + RANDOM % (high - low) ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port found between $low and $high"
}

free_port() {
  local high
  high=$(ephemeral_low)
  (( high > 21000 )) || high=50000
  free_port_in 20000 "$high"
}

# Waits until PORT listens; fails (without exiting) after 30 s or when PID has exited.
port_listens() {
  local port="$1" pid="${2:-}"
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null && return 1
    sleep 0.05
  done
  return 1
}

wait_port() {
  local port="$1" what="$2"
  port_listens "$port" || die "$what did not start listening on port $port; see $dir/*.log"
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

# A compose project name from DIR: lowercase letters, digits and dashes only.
project() {
  echo "authbench-$(basename "$dir" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '-')"
}

# Where the PostgreSQL cluster lives. As root it is started as `postgres`, which must reach it
# without DIR being opened to everyone: a fresh directory of its own, given to postgres.
pg_home() {
  if [[ "$(id -u)" != 0 ]]; then
    mkdir -m 700 "$dir/pg"
    echo "$dir/pg"
    return
  fi
  id postgres >/dev/null 2>&1 || die "no postgres user to run PostgreSQL as (root may not): install PostgreSQL (scripts/install-deps.sh)"
  local home
  home=$(mktemp -d "${TMPDIR:-/tmp}/authbench-pg.XXXXXX")
  echo "$home" > "$dir/pg.dir"
  chown postgres:postgres "$home"
  if ! runuser -u postgres -- test -w "$home"; then
    rmdir -- "$home"; rm -f -- "$dir/pg.dir"
    die "the postgres user cannot reach $home: a directory above it is private to root. Set TMPDIR to a directory every user may traverse (e.g. TMPDIR=/tmp) and run up again"
  fi
  echo "$home"
}

docker_up() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 || return 1
  local compose
  if docker compose version >/dev/null 2>&1; then compose=(docker compose); elif command -v docker-compose >/dev/null 2>&1; then compose=(docker-compose); else return 1; fi
  local pg_port redis_port
  pg_port=$(free_port); redis_port=$(free_port)
  # The file demands a control key for its target service, which is not started here.
  AUTHBENCH_CONTROL_KEY="${AUTHBENCH_CONTROL_KEY:-unused-postgres-and-redis-only}" \
    AUTHBENCH_PG_PORT=$pg_port AUTHBENCH_REDIS_PORT=$redis_port "${compose[@]}" -f "$root/docker-compose.yml" -p "$(project)" up -d --wait postgres redis >&2
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
  local pg
  pg=$(pg_home)
  as_pg "$bin/initdb" -D "$pg/data" -U authbench --auth=trust -E UTF8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 \
    || die "initdb failed; see $dir/initdb.log"
  as_pg "$bin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -t 30 \
    -o "-p $pg_port -k $pg -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null \
    || die "PostgreSQL did not start; see $pg/server.log"
  echo "$bin" > "$dir/pg.bin"; echo "$pg_port" > "$dir/pg.port"
  printf 'postgres://authbench@127.0.0.1:%s/postgres\n' "$pg_port" > "$dir/pg.url"

  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  wait_port "$redis_port" "redis-server"
  echo "$redis_port" > "$dir/redis.port"
}

# A port whose cluster bus port (port + 10000) is free too; both below the ephemeral range.
free_cluster_port() {
  local p high
  high=$(( $(ephemeral_low) - 10000 ))
  (( high > 13000 )) || high=40000
  for _ in $(seq 1 50); do
    p=$(free_port_in 12000 "$high")
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 10000))") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port pair (port, port + 10000) found for a cluster node"
}

# Starts one cluster node on a free port pair and prints the port. A node that loses its port to
# another process between the choice and its bind exits; it is started again on another pair.
cluster_node() {
  local c="$1" i="$2" p pid attempt
  for attempt in 1 2 3 4 5; do
    p=$(free_cluster_port)
    # setsid: the node outlives this script and its terminal, as a daemon would.
    setsid redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$c/nodes-$p.conf" \
      --cluster-node-timeout 5000 --save "" --appendonly no --dir "$c" \
      --logfile "$c/redis-$p.log" </dev/null >/dev/null 2>&1 &
    pid=$!
    echo "$pid" > "$c/redis-$p.pid"
    if port_listens "$p" "$pid"; then echo "$p"; return; fi
    kill "$pid" 2>/dev/null || true
    rm -f -- "$c/redis-$p.pid" "$c/nodes-$p.conf"
    echo "services.sh: cluster node $i could not listen on port $p (attempt $attempt of 5); trying another port" >&2
  done
  die "redis-server (cluster node $i) did not start listening after 5 attempts; see $c/*.log"
}

# Three cluster-enabled redis-servers, joined by redis-cli --cluster create (three masters, no
# replicas); waits until every node says cluster_state:ok. Writes DIR/redis-cluster.url.
cluster_up() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 \
    || die "redis-server and redis-cli are needed for the Redis Cluster: run scripts/install-deps.sh (apt-get install redis-server)"
  local c="$dir/cluster" p i ports=()
  mkdir -m 700 "$c"
  for i in 0 1 2; do
    ports+=("$(cluster_node "$c" "$i")")
  done
  redis-cli --cluster create "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" \
    --cluster-replicas 0 --cluster-yes >"$c/create.log" 2>&1 || die "redis-cli --cluster create failed; see $c/create.log"
  for p in "${ports[@]}"; do
    for i in $(seq 1 200); do
      redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' && break
      [[ $i == 200 ]] && die "the Redis Cluster node on port $p never reached cluster_state:ok; see $c/*.log"
      sleep 0.05
    done
  done
  printf 'redis-cluster://127.0.0.1:%s?node=127.0.0.1:%s&node=127.0.0.1:%s\n' "${ports[@]}" > "$dir/redis-cluster.url"
}

cluster_down() {
  local f
  for f in "$dir"/cluster/redis-*.pid; do
    if [[ -f "$f" ]]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
}

# Stops what up started under DIR (cluster nodes, Redis, PostgreSQL); with `delete`, also deletes
# PostgreSQL's directory outside DIR (its server.log with it). DIR itself stays.
stop_services() {
  local pg what="$1"
  cluster_down
  if [[ "$(cat "$dir/mode" 2>/dev/null)" == docker ]]; then
    export AUTHBENCH_CONTROL_KEY="${AUTHBENCH_CONTROL_KEY:-unused-postgres-and-redis-only}"
    (docker compose version >/dev/null 2>&1 && docker compose -f "$root/docker-compose.yml" -p "$(project)" down -v) \
      || docker-compose -f "$root/docker-compose.yml" -p "$(project)" down -v || true
  else
    pg="$dir/pg"
    if [[ -f "$dir/pg.dir" ]]; then
      pg=$(cat "$dir/pg.dir")
      [[ "$pg" == */authbench-pg.* && -d "$pg" && ! -L "$pg" ]] || pg=""
    fi
    if [[ -n "$pg" && -f "$dir/pg.bin" && -d "$pg/data" ]]; then
      as_pg "$(cat "$dir/pg.bin")/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [[ -f "$dir/redis.pid" ]]; then kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; fi
    if [[ "$what" == delete && -n "$pg" && "$pg" != "$dir/pg" ]]; then rm -rf -- "$pg"; fi
  fi
}

case "$cmd" in
  up)
    if [[ -z "$dir" ]]; then
      dir=$(mktemp -d "${TMPDIR:-/tmp}/authbench-services.XXXXXX")
    elif [[ ! -e "$dir" && ! -L "$dir" ]]; then
      (umask 077; mkdir -p -- "$dir")
    fi
    check_private
    echo "services.sh: directory $dir" >&2
    if [[ -f "$dir/env" ]]; then
      echo "services already up (from $dir/env); run scripts/services.sh down --dir $dir first" >&2
      cat "$dir/env"; exit 0
    fi
    # A start that fails part way stops what it had started; the logs stay in DIR.
    trap 'rc=$?; set +e; if (( rc != 0 )); then stop_services keep; echo "services.sh: stopped what had started; its logs stay (remove them with scripts/services.sh down --dir $dir)" >&2; fi' EXIT
    docker_up || local_up
    cluster_up
    trap - EXIT
    pg_url=$(cat "$dir/pg.url"); redis_url="redis://127.0.0.1:$(cat "$dir/redis.port")"
    cluster_url=$(cat "$dir/redis-cluster.url")
    printf 'export AUTHBENCH_POSTGRES_URL=%s\nexport AUTHBENCH_REDIS_URL=%s\nexport AUTHBENCH_REDIS_CLUSTER_URL=%q\nexport AUTHBENCH_SERVICES_DIR=%q\n' \
      "$pg_url" "$redis_url" "$cluster_url" "$dir" > "$dir/env"
    echo "PostgreSQL: $pg_url ($(cat "$dir/mode"))" >&2
    echo "Redis:      $redis_url ($(cat "$dir/mode"))" >&2
    echo "Cluster:    $cluster_url (local, three masters)" >&2
    echo "to use them: source $dir/env" >&2
    echo "to stop them: scripts/services.sh down --dir $dir" >&2
    cat "$dir/env"
    ;;
  down)
    [[ -n "$dir" ]] || die "down needs --dir DIR (the directory up printed)"
    [[ -d "$dir" ]] || { echo "nothing running under $dir" >&2; exit 0; }
    check_private
    stop_services delete
    rm -rf -- "$dir"
    echo "stopped services under $dir" >&2
    ;;
  status)
    [[ -n "$dir" ]] || die "status needs --dir DIR (the directory up printed)"
    if [[ -f "$dir/env" ]]; then cat "$dir/env"; else echo "no services under $dir" >&2; exit 1; fi
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
