# Slurm batch jobs (jobs/*.sbatch), run for real on a throw-away one-node
# cluster on loopback (tests/slurm/cluster.sh). Needs root and Debian's
# slurm-wlm + munge; without them the tests print "SKIP:" and are skipped.
# They share one resource lock: two test clusters would work (free ports) but
# would fight over the machine's 2 CPUs.
sn_add_script_test(slurm.cluster slurm/test_cluster.sh)
set_tests_properties(slurm.cluster PROPERTIES LABELS "slurm" TIMEOUT 300
  RESOURCE_LOCK slurm_cluster SKIP_REGULAR_EXPRESSION "^SKIP:")
