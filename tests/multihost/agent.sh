#!/usr/bin/env bash
# Open MPI launch agent for the test hosts of hosts.sh, used instead of ssh:
#   mpirun --mca plm_rsh_agent tests/multihost/agent.sh --host mh0,mh1,... CMD
# Open MPI calls it as "agent.sh HOST COMMAND..." (like ssh), where COMMAND is a
# shell command line (orted and its options); it runs on HOST's network and
# hostname. Like an ssh client, this script stays on the launching host while
# the command runs, and when the remote side dies it says so on stderr (ssh:
# "Connection to HOST closed by remote host.") and exits 255. Needs SN_MH_PREFIX
# and SN_MH_DIR, which hosts.sh exports (mpirun passes them on to the agent).
set -uo pipefail
host=$1; shift
case "$host" in
  mh[0-9]|mh[0-9][0-9]) ;;
  *) echo "agent.sh: error: $host is not a test host (mh0, mh1, ...)" >&2; exit 255 ;;
esac
if [ -z "${SN_MH_PREFIX:-}" ] || [ -z "${SN_MH_DIR:-}" ]; then
  echo "agent.sh: error: SN_MH_PREFIX/SN_MH_DIR unset (start the hosts with hosts.sh)" >&2; exit 255
fi
[ -e "$SN_MH_DIR/$host.uts" ] || { echo "agent.sh: error: test host $host is not up" >&2; exit 255; }
# (bash's own "Killed" job notice goes to /dev/null; the command's stderr to ours)
{ nsenter --net="/run/netns/$SN_MH_PREFIX-h${host#mh}" --uts="$SN_MH_DIR/$host.uts" -- /bin/sh -c "$*" 2>&3; } 3>&2 2>/dev/null
rc=$?
if [ $rc -gt 128 ]; then
  echo "agent.sh: connection to $host closed: its command ended by signal $((rc - 128))" >&2
  exit 255
fi
exit $rc
