#!/usr/bin/env bash
# Test hosts on this machine: N network namespaces, each with its own hostname
# (a UTS namespace) and a veth pair to a private switch, for the multi-host
# tests (tests/multihost.cmake). Only these namespaces ever carry the traffic:
#
#   PREFIX-sw   bridge br0 with one veth end per host (p0, p1, ...), no address
#   PREFIX-hI   lo + veth0 = 10.213.0.(I+1)/24, hostname mhI, no default route
#
# The root namespace gets no interface, address or route. All namespaces see the
# same file system (the "shared file system" of a cluster).
#
#   hosts.sh up N [OWNER_PID]   delete leftovers of the same PREFIX, create N hosts
#                               (prints the export line agent.sh needs);
#                               with OWNER_PID, a detached watchdog tears them down
#                               once that process is gone (ctest's timeout kills
#                               with SIGKILL, so no trap would run)
#   hosts.sh exec I CMD...      run CMD on host I (its network and hostname)
#   hosts.sh pids I             pids of the processes on host I
#   hosts.sh down               kill what runs on the hosts, delete everything
#   hosts.sh check              exit 0 if network namespaces can be made here
#
# PREFIX is SN_MH_PREFIX, default snmh + a hash of SN_TMP (the test's folder:
# a crashed run of a test is cleaned by its next run, and two tests or two
# builds running at once do not collide; each has its own switch, so the same
# subnet in both is fine).
# SN_MH_SUBNET (default 10.213.0) is the /24 inside the namespaces.
set -euo pipefail

_sn_mh_defaults() {
  if [ -z "${SN_MH_PREFIX:-}" ]; then
    SN_MH_PREFIX=snmh$(printf "%s" "${SN_TMP:-$PWD}" | md5sum | cut -c1-6)
  fi
  SN_MH_SUBNET=${SN_MH_SUBNET:-10.213.0}
  SN_MH_DIR=/run/$SN_MH_PREFIX           # UTS namespace files, host list
  export SN_MH_PREFIX SN_MH_SUBNET SN_MH_DIR
}

_sn_mh_die() { echo "multihost: error: $*" >&2; exit 1; }

# Every name we may have made, whether or not it still exists.
_sn_mh_names() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${SN_MH_PREFIX}-(sw|h[0-9]+)$" || true
}

sn_mh_down() {
  _sn_mh_defaults
  local ns p pass
  # processes still on our hosts (ranks, orteds, slurmds): ours by construction
  for pass in TERM KILL; do
    for ns in $(_sn_mh_names); do
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -"$pass" "$p" 2>/dev/null || true; done
    done
    [ "$pass" = TERM ] && sleep 0.5
  done
  for ns in $(_sn_mh_names); do ip netns delete "$ns" 2>/dev/null || true; done
  if [ -d "$SN_MH_DIR" ]; then
    for p in "$SN_MH_DIR"/*.uts; do
      [ -e "$p" ] || continue
      umount "$p" 2>/dev/null || true
      rm -f "$p"
    done
    if [ -f "$SN_MH_DIR/watchdog.pid" ]; then
      p=$(cat "$SN_MH_DIR/watchdog.pid")
      [ "$p" != "${SN_MH_WATCHDOG_SELF:-}" ] && kill "$p" 2>/dev/null || true
    fi
    rm -rf "$SN_MH_DIR"
  fi
}

sn_mh_check() {
  [ "$(id -u)" = 0 ] || _sn_mh_die "network namespaces need root (running as uid $(id -u))"
  local t
  for t in ip nsenter unshare; do
    command -v "$t" >/dev/null 2>&1 || _sn_mh_die "$t not found (apt-get install iproute2 util-linux)"
  done
  local probe=${SN_MH_PREFIX}-probe
  ip netns delete "$probe" 2>/dev/null || true
  ip netns add "$probe" 2>/dev/null || _sn_mh_die "cannot create a network namespace (ip netns add: no CAP_SYS_ADMIN here?)"
  if ! ip -n "$probe" link add probe0 type veth peer name probe1 2>/dev/null; then
    ip netns delete "$probe"; _sn_mh_die "cannot create a veth pair (no veth module?)"
  fi
  ip netns delete "$probe"
}

# IPv4 only: no IPv6 link-local addresses and their chatter (router and
# neighbour solicitations) on the switch; interfaces made later inherit it.
_sn_mh_no_ipv6() {
  nsenter --net="/run/netns/$1" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null || true
}

sn_mh_up() {
  local n=$1 owner=${2:-} i ns sw
  _sn_mh_defaults
  [ "$n" -ge 1 ] && [ "$n" -le 16 ] || _sn_mh_die "host count $n (1..16)"
  sn_mh_check
  sn_mh_down                       # leftovers of a crashed run of the same build
  mkdir -p "$SN_MH_DIR"
  sw=$SN_MH_PREFIX-sw
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  _sn_mh_no_ipv6 "$sw"
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for ((i = 0; i < n; i++)); do
    ns=$SN_MH_PREFIX-h$i
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    _sn_mh_no_ipv6 "$ns"
    ip -n "$sw" link add "p$i" type veth peer name veth0 netns "$ns"
    ip -n "$sw" link set "p$i" master br0 up
    ip -n "$ns" addr add "$SN_MH_SUBNET.$((i + 1))/24" dev veth0
    ip -n "$ns" link set veth0 up
    touch "$SN_MH_DIR/mh$i.uts"
    unshare --uts="$SN_MH_DIR/mh$i.uts" hostname "mh$i"
    echo "mh$i $SN_MH_SUBNET.$((i + 1))" >> "$SN_MH_DIR/hosts"
  done
  if [ -n "$owner" ]; then
    # detached (own session): survives the kill of the test's process group
    setsid -f /bin/bash -c '
      owner=$1; script=$2; echo $$ > "$SN_MH_DIR/watchdog.pid"
      while kill -0 "$owner" 2>/dev/null && [ -d "$SN_MH_DIR" ]; do sleep 1; done
      SN_MH_WATCHDOG_SELF=$$ bash "$script" down' watchdog "$owner" "${BASH_SOURCE[0]}" \
      </dev/null >/dev/null 2>&1
  fi
  # host 0 reaches every host (a refused connection proves the path; the
  # bridge has no STP, so its ports forward at once)
  local j ok out
  for ((i = 0; i < n; i++)); do
    ok=0
    for ((j = 0; j < 20; j++)); do
      out=$( (sn_mh_exec 0 timeout 2 bash -c "exec 3<>/dev/tcp/$SN_MH_SUBNET.$((i + 1))/9") 2>&1 || true)
      case "$out" in *refused*) ok=1; break ;; esac
      sleep 0.2
    done
    [ $ok = 1 ] || _sn_mh_die "mh0 cannot reach mh$i at $SN_MH_SUBNET.$((i + 1))"
  done
}

sn_mh_exec() {
  local i=$1; shift
  _sn_mh_defaults
  [ -e "$SN_MH_DIR/mh$i.uts" ] || _sn_mh_die "no test host mh$i (hosts.sh up first)"
  exec nsenter --net="/run/netns/$SN_MH_PREFIX-h$i" --uts="$SN_MH_DIR/mh$i.uts" -- "$@"
}

sn_mh_pids() {
  _sn_mh_defaults
  ip netns pids "$SN_MH_PREFIX-h$1"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cmd=${1:-}; shift || true
  case "$cmd" in
    up) sn_mh_up "$@"; echo "export SN_MH_PREFIX=$SN_MH_PREFIX SN_MH_DIR=$SN_MH_DIR" ;;
    down) sn_mh_down ;;
    exec) sn_mh_exec "$@" ;;
    pids) sn_mh_pids "$@" ;;
    check) _sn_mh_defaults; sn_mh_check ;;
    *) echo "usage: hosts.sh up N [OWNER_PID] | exec I CMD... | pids I | down | check" >&2; exit 2 ;;
  esac
fi
