#!/usr/bin/env bash
# A strict S3 for tests and benchmarks: Ceph's RADOS Gateway (Debian's packages) as a one-node
# cluster under one scratch directory, data in memory (memstore). It refuses what AWS S3 refuses:
# tampered or expired signatures, signed headers that differ, anonymous writes.
#
#   strict-s3.sh ensure                  install when missing, start the shared one when it does not
#                                        answer (127.0.0.1:$STRICT_S3_PORT), print its endpoint
#   strict-s3.sh start DIR RGW_PORT MON_PORT [LC_DEBUG_SECONDS [STORAGE_CLASS ...]]
#                                        start a cluster of its own in DIR (LC_DEBUG_SECONDS makes a
#                                        lifecycle "day" that many seconds, for lifecycle tests; 0 or
#                                        "" keeps real days); each STORAGE_CLASS (e.g. COLD) is added
#                                        beside STANDARD, with a data pool of its own
#   strict-s3.sh run DIR RGW_PORT MON_PORT [LC_DEBUG_SECONDS [STORAGE_CLASS ...]]
#                                        as start, but the daemons stay in the foreground as
#                                        children of this shell, which prints the endpoint and
#                                        waits: they die with it (SIGKILL, prctl PR_SET_PDEATHSIG
#                                        through setpriv), and on SIGTERM/SIGINT/SIGHUP or exit it
#                                        stops them and deletes DIR. Start it under
#                                        `setpriv --pdeathsig TERM` and the cluster dies with the
#                                        process that started it, however that one ends
#   strict-s3.sh stop DIR                stop the cluster in DIR and delete DIR
#   strict-s3.sh pids [DIR]              the pids of the daemons of the cluster in DIR (default: the
#                                        shared one), for CPU accounting
#   strict-s3.sh gc [DIR]                free now the memory of deleted objects (rgw's garbage
#                                        collection, which otherwise waits rgw gc obj min wait)
#   strict-s3.sh install                 install the packages (as root, with apt-get)
#
# Credentials are fixed: STRICT_S3_ACCESS_KEY / STRICT_S3_SECRET_KEY below (a local test store).
set -euo pipefail

ACCESS_KEY=${STRICT_S3_ACCESS_KEY:-strict-s3-access}
SECRET_KEY=${STRICT_S3_SECRET_KEY:-strict-s3-secret-key-for-tests}
PORT=${STRICT_S3_PORT:-7480}
MON_PORT=${STRICT_S3_MON_PORT:-7481}
SHARED_DIR=${STRICT_S3_DIR:-${TMPDIR:-/tmp}/media-grpc-strict-s3}
# Memstore keeps objects in RAM up to this size; deleted objects are freed by rgw's GC.
MEMSTORE_BYTES=${STRICT_S3_MEMSTORE_BYTES:-$((8 * 1024 * 1024 * 1024))}
PACKAGES=(ceph-mon ceph-osd radosgw ceph-common uuid-runtime)

say() { echo "strict-s3: $*" >&2; }

# 1 in `run` mode: daemons stay in the foreground as children that die with this shell.
FOREGROUND=0

# launch DIR DAEMON ARGS...: start a Ceph daemon, detached (it daemonizes), or in `run` mode in
# the foreground as a child of this shell with SIGKILL as its parent-death signal.
launch() {
  local dir=$1
  shift
  if [ "$FOREGROUND" = 1 ]; then
    setpriv --pdeathsig KILL "$@" -f 2>>"$dir/log/setup.log" &
  else
    "$@" 2>>"$dir/log/setup.log"
  fi
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install() {
  command -v radosgw >/dev/null && command -v ceph-osd >/dev/null && command -v ceph-mon >/dev/null \
    && return 0
  if [ "$(id -u)" != 0 ]; then
    say "Ceph's radosgw is not installed; as root: apt-get install ${PACKAGES[*]}"
    return 1
  fi
  say "installing ${PACKAGES[*]} (Debian packages, about 30 s)"
  # Only Ceph's own daemons are wanted here: their services are started by this script.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" \
    >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null; }
}

write_conf() {
  local dir=$1 rgw_port=$2 mon_port=$3 lc_debug=${4:-}
  cat >"$dir/ceph.conf" <<CONF
[global]
fsid = $(uuidgen)
mon host = v2:127.0.0.1:$mon_port
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
mon data = $dir/mon/\$id
osd data = $dir/osd/\$id
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
paxos propose interval = 0.05
paxos min wait = 0.01
osd op num shards = 2
osd op num threads per shard = 1

[client]
ms mon client mode = crc secure
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw data = $dir/rgw
rgw gc obj min wait = 30
rgw gc processor period = 30
CONF
  if [ -n "$lc_debug" ] && [ "$lc_debug" != 0 ]; then
    printf 'rgw lc debug interval = %s\n' "$lc_debug" >>"$dir/ceph.conf"
  fi
}

# A storage class beside STANDARD in the default placement, its data in a pool of its own. Done
# before radosgw starts, so that it reads the zone with the class in it.
add_storage_class() {
  local dir=$1 class=$2 pool
  pool="default.rgw.$(echo "$class" | tr '[:upper:]' '[:lower:]').data"
  radosgw-admin -c "$dir/ceph.conf" zonegroup placement add --rgw-zonegroup default \
    --placement-id default-placement --storage-class "$class" >/dev/null 2>>"$dir/log/setup.log"
  radosgw-admin -c "$dir/ceph.conf" zone placement add --rgw-zone default \
    --placement-id default-placement --storage-class "$class" --data-pool "$pool" \
    >/dev/null 2>>"$dir/log/setup.log"
}

start() {
  local dir=$1 rgw_port=$2 mon_port=$3 lc_debug=${4:-}
  shift $(($# < 4 ? $# : 4))
  install
  if answers "$rgw_port"; then
    say "something already answers on 127.0.0.1:$rgw_port"
    return 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"/{run,log,mon/a,osd/0,rgw}
  write_conf "$dir" "$rgw_port" "$mon_port" "$lc_debug"
  local conf=(-c "$dir/ceph.conf")
  monmaptool --create --clobber --addv a "[v2:127.0.0.1:$mon_port]" \
    --fsid "$(awk '/^fsid/ {print $3}' "$dir/ceph.conf")" "$dir/monmap" >/dev/null
  ceph-mon "${conf[@]}" -i a --mkfs --monmap "$dir/monmap" 2>>"$dir/log/setup.log"
  launch "$dir" ceph-mon "${conf[@]}" -i a
  local osd_uuid osd_id
  osd_uuid=$(uuidgen)
  osd_id=$(ceph "${conf[@]}" --connect-timeout 20 osd new "$osd_uuid" 2>>"$dir/log/setup.log")
  ceph-osd "${conf[@]}" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" 2>>"$dir/log/setup.log"
  launch "$dir" ceph-osd "${conf[@]}" -i "$osd_id"
  radosgw-admin "${conf[@]}" user create --uid media-grpc-tests --display-name "media-grpc tests" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >/dev/null 2>>"$dir/log/setup.log"
  for class in "$@"; do add_storage_class "$dir" "$class"; done
  launch "$dir" radosgw "${conf[@]}" -n client.rgw.a
  for _ in $(seq 1 300); do
    if answers "$rgw_port"; then
      say "up on http://127.0.0.1:$rgw_port (data in $dir)"
      echo "http://127.0.0.1:$rgw_port"
      return 0
    fi
    sleep 0.1
  done
  say "radosgw did not answer on 127.0.0.1:$rgw_port within 30 s; logs in $dir/log"
  return 1
}

stop() {
  local dir=$1 pid
  for pidfile in "$dir"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
  done
  for pidfile in "$dir"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}

# The children of this shell (the foreground daemons): stopped as `stop` does, then DIR deleted.
stop_children() {
  local dir=$1 pids
  pids=$(jobs -p)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null || true
    for _ in $(seq 1 20); do
      # shellcheck disable=SC2086
      kill -0 $pids 2>/dev/null || break
      sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
  fi
  rm -rf "$dir"
}

run() {
  local dir=$1
  FOREGROUND=1
  trap 'stop_children "$dir"' EXIT
  trap 'exit 143' TERM INT HUP
  start "$@"
  wait
}

pids() {
  local dir=$1 pidfile
  for pidfile in "$dir"/run/*.pid; do
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && cat "$pidfile"
  done
  return 0
}

case "${1:-}" in
  install) install ;;
  ensure)
    if answers "$PORT"; then echo "http://127.0.0.1:$PORT"; exit 0; fi
    stop "$SHARED_DIR"
    start "$SHARED_DIR" "$PORT" "$MON_PORT"
    ;;
  start) shift; start "$@" ;;
  run) shift; run "$@" ;;
  stop) shift; stop "$1" ;;
  pids) pids "${2:-$SHARED_DIR}" ;;
  gc) radosgw-admin -c "${2:-$SHARED_DIR}/ceph.conf" gc process --include-all 2>/dev/null ;;
  *) sed -n '2,28p' "$0" >&2; exit 2 ;;
esac
