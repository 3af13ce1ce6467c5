#!/usr/bin/env bash
# Open MPI launch agent for the test hosts of hosts.sh, used instead of ssh:
#   mpirun --mca plm_rsh_agent tests/multihost/agent.sh --host mh0,mh1,... CMD
# Open MPI calls it as "agent.sh HOST COMMAND..." (like ssh), where COMMAND is a
# shell command line (orted and its options); it runs on HOST's network and
# hostname. Needs SN_MH_PREFIX and SN_MH_DIR, which hosts.sh exports (and
# mpirun passes on to the agent).
set -euo pipefail
host=$1; shift
case "$host" in
  mh[0-9]|mh[0-9][0-9]) ;;
  *) echo "agent.sh: error: $host is not a test host (mh0, mh1, ...)" >&2; exit 255 ;;
esac
: "${SN_MH_PREFIX:?agent.sh: SN_MH_PREFIX unset (start the hosts with hosts.sh)}"
: "${SN_MH_DIR:?agent.sh: SN_MH_DIR unset}"
[ -e "$SN_MH_DIR/$host.uts" ] || { echo "agent.sh: error: test host $host is not up" >&2; exit 255; }
exec nsenter --net="/run/netns/$SN_MH_PREFIX-h${host#mh}" --uts="$SN_MH_DIR/$host.uts" -- /bin/sh -c "$*"
