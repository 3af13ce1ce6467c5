# Slurm batch jobs (jobs/*.sbatch), run for real on a throw-away one-node
# cluster on loopback (tests/slurm/cluster.sh). Needs root and Debian's
# slurm-wlm + munge; without them the tests print "SKIP:" and are skipped.
# They share one resource lock: two test clusters would work (free ports) but
# would fight over the machine's 2 CPUs.
sn_add_script_test(slurm.cluster slurm/test_cluster.sh)
set_tests_properties(slurm.cluster PROPERTIES LABELS "slurm" TIMEOUT 300
  RESOURCE_LOCK slurm_cluster SKIP_REGULAR_EXPRESSION "^SKIP:")
# jobs/*.sbatch on the test cluster (~6 min alone, more under load): part A with a test double of the CLI
# (always), part B with the real binary for each command it already has.
sn_add_script_test(slurm.jobs slurm/test_jobs.sh)
set_tests_properties(slurm.jobs PROPERTIES LABELS "slurm" TIMEOUT 1500
  RESOURCE_LOCK slurm_cluster SKIP_REGULAR_EXPRESSION "^SKIP:")
# jobs/gather_reports.py and jobs/scaling_model.py on synthetic reports from
# known constants (no cluster needed).
sn_add_script_test(slurm.reports slurm/test_reports.py)
