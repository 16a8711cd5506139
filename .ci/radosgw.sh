#!/usr/bin/env bash
# Throwaway single-node Ceph radosgw (a real S3 server) for the filefield CI.
#
#   bash .ci/radosgw.sh start [DIR]   install Ceph if missing, start mon + osd + radosgw under DIR
#                                     (default: a new mktemp -d), create the S3 user, wait until
#                                     S3 answers, then print ONLY `export ...` lines on stdout:
#                                       eval "$(bash .ci/radosgw.sh start)"
#   bash .ci/radosgw.sh stop DIR      kill the daemons by their pid files and remove DIR
#
# Exported: FILEFIELD_S3_ENDPOINT FILEFIELD_S3_ACCESS_KEY_ID FILEFIELD_S3_SECRET_ACCESS_KEY
#           FILEFIELD_S3_REGION FILEFIELD_S3_SERVER FILEFIELD_RADOSGW_DIR
# Progress and errors go to stderr. Needs root (apt-get) when Ceph is not installed yet.
#
# Why each setting is there: ../shared/notes/real-s3-radosgw.md (beside the checkout) (checked on Debian 12,
# Ceph 16.2.15). Everything (config, mon/osd data, pid files, logs) lives under DIR; object data
# lives in the OSD's RAM (memstore), so there is no disk image and no loop device.
set -euo pipefail

ACCESS_KEY=filefieldci
SECRET_KEY=filefieldci-secret-key-0123456789
REGION=us-east-1 # radosgw accepts any region in the signature; the SDK needs one
MARKER=.filefield-radosgw # marks a DIR created by this script, so `stop` never rm -rf's anything else

log() { printf 'radosgw.sh: %s\n' "$*" >&2; }
die() { printf 'radosgw.sh: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: bash .ci/radosgw.sh start [DIR]   start a throwaway radosgw, print `export ...` lines
       bash .ci/radosgw.sh stop DIR      stop it and remove DIR
EOF
  exit 2
}

# ---------------------------------------------------------------------------------------------
install_ceph() {
  local missing=0 b
  for b in radosgw ceph-mon ceph-osd ceph radosgw-admin monmaptool; do
    command -v "$b" >/dev/null 2>&1 || missing=1
  done
  # curl (>= 7.75 for --aws-sigv4) is used for the readiness check below.
  local pkgs=()
  [ "$missing" = 0 ] || pkgs+=(radosgw ceph-mon ceph-osd ceph-common)
  command -v curl >/dev/null 2>&1 || pkgs+=(curl)
  [ ${#pkgs[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || die "missing ${pkgs[*]} and we are not root: cannot apt-get install it"
  log "installing ${pkgs[*]} (apt-get, ~15-30 s)..."
  # ceph-mgr is not needed; --no-install-recommends keeps it to ~61 MB of downloads.
  export DEBIAN_FRONTEND=noninteractive
  local out
  out=$(mktemp)
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } \
        >"$out" 2>&1; then
    tail -n 30 "$out" >&2
    rm -f "$out"
    die "apt-get install ${pkgs[*]} failed"
  fi
  rm -f "$out"
  for b in radosgw ceph-mon ceph-osd ceph radosgw-admin monmaptool; do
    command -v "$b" >/dev/null 2>&1 || die "$b still missing after apt-get install"
  done
}

# A TCP port nobody listens on, excluding the ports given as arguments: random in 20000-32767
# (below Linux's ephemeral range 32768-60999, so no outgoing connection holds it), checked
# against `ss -ltn`. Random rather than fixed so that parallel CI jobs do not collide. The daemon
# binds it a moment later; losing that race is very unlikely and then fails the start loudly.
free_port() {
  local used p
  used=$( { ss -Hltn 2>/dev/null || true; } | awk '{print $4}' | sed 's/.*://' | sort -u)
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12768))
    case " $* " in *" $p "*) continue ;; esac
    grep -qx "$p" <<<"$used" || { echo "$p"; return 0; }
  done
  die "no free TCP port found"
}

# ---------------------------------------------------------------------------------------------
# True while PID runs and is not a zombie. A stopped daemon may linger as <defunct> for a moment
# (its parent is not us: the daemons daemonize themselves); that counts as gone.
running() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

stop_daemons() { # DIR
  local dir=$1 name f pid
  # One at a time, rgw first, then osd, then mon: radosgw's shutdown talks to the OSD (it drops
  # its watches on the control objects), so killing all three at once makes it hang ~5 s.
  for name in client.rgw osd.0 mon.a; do
    f=$dir/run/$name.pid
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    # Only kill it if it still is one of our Ceph daemons (a pid may have been reused).
    if ! running "$pid" || ! grep -q -e radosgw -e ceph- "/proc/$pid/comm" 2>/dev/null; then
      continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do # up to ~10 s
      running "$pid" || continue 2
      sleep 0.1
    done
    log "$name (pid $pid) did not stop on SIGTERM in 10 s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
}

cmd_stop() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  if [ ! -e "$dir" ]; then
    log "$dir does not exist: nothing to stop"
    return 0
  fi
  [ -e "$dir/$MARKER" ] || die "$dir was not created by radosgw.sh start (no $MARKER): refusing to touch it"
  stop_daemons "$dir"
  rm -rf -- "$dir"
  log "stopped and removed $dir"
}

# ---------------------------------------------------------------------------------------------
DIR=
START_OK=0
on_start_exit() {
  if [ "$START_OK" = 1 ] || [ -z "$DIR" ] || [ ! -e "$DIR/$MARKER" ]; then return 0; fi
  local f
  # The daemons' own logs first, then the captured output of each setup command.
  for f in "$DIR"/log/*.log "$DIR"/log/*.out; do
    [ -s "$f" ] || continue
    printf '\n----- tail of %s -----\n' "$f" >&2
    case "$f" in *.log) tail -n 20 "$f" >&2 ;; *) tail -n 8 "$f" >&2 ;; esac
  done
  stop_daemons "$DIR"
  log "start FAILED; daemons stopped, files kept in $DIR (remove with: bash $0 stop $DIR)"
}

cmd_start() {
  local t0=$SECONDS
  install_ceph

  if [ -n "${1:-}" ]; then
    DIR=$1
    if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
      die "$DIR exists and is not empty (already running? stop it with: bash $0 stop $DIR)"
    fi
    mkdir -p "$DIR"
  else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/filefield-radosgw.XXXXXX")
  fi
  DIR=$(cd "$DIR" && pwd)
  touch "$DIR/$MARKER"
  trap on_start_exit EXIT
  mkdir -p "$DIR"/{run,log,mon/a,osd/0,rgw}

  local mon_port rgw_port fsid osd_uuid kms_key conf=$DIR/ceph.conf
  mon_port=$(free_port)
  rgw_port=$(free_port "$mon_port")
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  # A fresh 256-bit key for the testing KMS backend (SSE-KMS with key id "testkey-1").
  kms_key=$(head -c 32 /dev/urandom | base64)
  log "cluster in $DIR (mon port $mon_port, S3 port $rgw_port)"

  cat >"$conf" <<EOF
# Generated by .ci/radosgw.sh: a throwaway one-node cluster. See that script for why.
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
# No cephx: nothing here is secret and it saves keyring plumbing.
auth cluster required = none
auth service required = none
auth client required = none
# Without cephx, clients' default "secure" mode to the mon retries the auth forever and radosgw
# never starts; crc works. In [global] so that ceph, radosgw-admin and radosgw all get it.
ms mon client mode = crc
# Keep every file under DIR (never /var/run/ceph, /var/log/ceph, /var/lib/ceph).
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
# Default is 1 s: each pool creation and the first CreateBucket/PutObject would wait for it.
paxos propose interval = 0.01
# One OSD: one replica, and place replicas across OSDs (type 0) rather than hosts.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
# Do not refuse to work when the host's disk is fairly full (the mon's store is tiny).
mon data avail warn = 1
mon data avail crit = 0

[mon.a]
mon data = $DIR/mon/a
# With "public addr" the monitor ignores the port and binds 3300; addrv keeps ours.
public addrv = [v2:127.0.0.1:$mon_port]

[osd]
osd data = $DIR/osd/\$id
# RAM-backed object store: no disk image, no loop device. The size is a cap, not an allocation.
osd objectstore = memstore
memstore device bytes = 4294967296
public addr = 127.0.0.1
cluster addr = 127.0.0.1

[client.rgw]
rgw data = $DIR/rgw
# tcp_nodelay: without it each small sequential GET takes ~44 ms instead of ~1.5 ms.
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
# SSE-KMS and SSE-C over plain http would otherwise be refused with 400 InvalidRequest.
rgw crypt require ssl = false
# SSE-KMS (aws:kms) with rgw's built-in testing key store.
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = testkey-1=$kms_key
# Deleted data is otherwise kept (in the OSD's RAM) for 2 hours before garbage collection.
rgw gc obj min wait = 60
EOF

  # --- monitor ---
  monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" \
    "$DIR/monmap" >"$DIR/log/monmaptool.out" 2>&1
  ceph-mon -c "$conf" -i a --mkfs --monmap "$DIR/monmap" >"$DIR/log/mon-mkfs.out" 2>&1 \
    || die "ceph-mon --mkfs failed"
  ceph-mon -c "$conf" -i a >"$DIR/log/mon-start.out" 2>&1 || die "ceph-mon failed to start"
  log "monitor started ($((SECONDS - t0)) s)"

  # --- OSD id and radosgw's pools, in one `ceph` CLI session (each CLI start costs ~0.3 s) ---
  # The pools are pre-created: letting radosgw create them one by one makes its start take ~13 s
  # and the first CreateBucket and first PutObject stall ~2 s each. They are created before the
  # OSD boots, so it creates all their PGs at once. No `osd pool application enable` (~0.1 s
  # each): the tag only feeds a health warning computed by ceph-mgr, which we do not run.
  local p cmds="osd create $osd_uuid"$'\n' created
  for p in .rgw.root default.rgw.log default.rgw.control default.rgw.meta \
           default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
    cmds+="osd pool create $p 8 8"$'\n'
  done
  # (bounded, so that a wedged monitor fails the start instead of hanging CI)
  printf '%s' "$cmds" | timeout 60 ceph -c "$conf" --connect-timeout 30 >"$DIR/log/pools.out" 2>&1 \
    || die "ceph osd create / osd pool create failed (monitor not answering?)"
  # The interactive CLI does not fail on a failed command: check its output.
  [ "$(head -n 1 "$DIR/log/pools.out")" = 0 ] || die "ceph osd create did not give osd id 0"
  created=$(grep -c "^pool '.*' created" "$DIR/log/pools.out") || true
  [ "$created" = 7 ] || die "only $created of the 7 rgw pools were created"
  log "OSD id and pools created ($((SECONDS - t0)) s)"

  # --- OSD on memstore ---
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/osd-mkfs.out" 2>&1 \
    || die "ceph-osd --mkfs failed"
  ceph-osd -c "$conf" -i 0 >"$DIR/log/osd-start.out" 2>&1 || die "ceph-osd failed to start"
  log "OSD started ($((SECONDS - t0)) s)"

  # --- S3 user with fixed keys (talks to RADOS directly; waits until the PGs are active) ---
  timeout 60 radosgw-admin -c "$conf" user create --uid "$ACCESS_KEY" --display-name "filefield CI" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >"$DIR/log/user-create.out" 2>&1 \
    || die "radosgw-admin user create failed"
  log "S3 user $ACCESS_KEY created ($((SECONDS - t0)) s)"

  # --- radosgw ---
  radosgw -c "$conf" -n client.rgw >"$DIR/log/rgw-start.out" 2>&1 || die "radosgw failed to start"

  # Wait (bounded) until the S3 endpoint answers HTTP at all (an anonymous ListBuckets).
  local endpoint=http://127.0.0.1:$rgw_port code='' deadline=$((SECONDS + 60))
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$endpoint/" 2>/dev/null) || code=''
    if [ -n "$code" ] && [ "$code" != 000 ]; then break; fi
    [ "$SECONDS" -lt "$deadline" ] || die "radosgw did not answer on $endpoint within 60 s"
    sleep 0.1
  done
  # A signed request must work too (the user is known to the running gateway). curl 7.88 does
  # not send x-amz-content-sha256 by itself and radosgw then answers 403 SignatureDoesNotMatch.
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$endpoint/") || code=''
  [ "$code" = 200 ] || die "signed ListBuckets on $endpoint answered '$code', expected 200"

  START_OK=1
  log "radosgw ready at $endpoint in $((SECONDS - t0)) s (stop with: bash $0 stop $DIR)"
  printf 'export FILEFIELD_S3_ENDPOINT=%q FILEFIELD_S3_ACCESS_KEY_ID=%q FILEFIELD_S3_SECRET_ACCESS_KEY=%q FILEFIELD_S3_REGION=%q FILEFIELD_S3_SERVER=radosgw FILEFIELD_RADOSGW_DIR=%q\n' \
    "$endpoint" "$ACCESS_KEY" "$SECRET_KEY" "$REGION" "$DIR"
}

# ---------------------------------------------------------------------------------------------
case "${1:-}" in
  start) shift; [ $# -le 1 ] || usage; cmd_start "$@" ;;
  stop) shift; [ $# -eq 1 ] || usage; cmd_stop "$1" ;;
  *) usage ;;
esac
