# Multi-host tests (label multihost): 2-3 test hosts as network namespaces on
# this machine (tests/multihost/hosts.sh: own veth, address 10.213.0.x, hostname
# mhI; no route anywhere else), Open MPI over TCP between them, launched through
# tests/multihost/agent.sh instead of ssh. They need root (ip netns); as root
# they must work, so there is no skip. See docs/cluster.md, "Several nodes".

# Every command across 3 hosts x 1 rank (tcp,self) and 2 hosts x 2 ranks
# (tcp,vader,self) equals the one-node run at the same rank count bit for bit.
_sn_add(multihost.run 3 "multihost" multihost/test_run.py)
set_tests_properties(multihost.run PROPERTIES TIMEOUT 300)

# A host fails in the middle of an NMF with --checkpoint-every: its ranks
# SIGKILLed, the whole host killed, its cable pulled. mpirun must stop within
# 60 s naming the host, and --resume must end bit-identical to the
# uninterrupted run (~1.5 min on 2 shared cores).
_sn_add(multihost.kill 3 "multihost" multihost/test_kill.py)
set_tests_properties(multihost.kill PROPERTIES TIMEOUT 300)

# Slurm across the hosts: one slurmd per host (node-local TmpFS), srun and
# srun --mpi=pmix on 3 nodes, mpirun inside sbatch -N 3, jobs/separate.sbatch
# with both launchers equal to one node bit for bit (~1 min). Shares the
# Slurm tests' lock (CPU, not ports: each host has its own).
_sn_add(multihost.slurm 3 "multihost;slurm" multihost/test_slurm.sh)
set_tests_properties(multihost.slurm PROPERTIES TIMEOUT 300 RESOURCE_LOCK slurm_cluster)
