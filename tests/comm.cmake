# The agreement contract and block ownership (parallel/sn_comm), at 1, 2, 3 ranks.
add_executable(test_agree mpi/test_agree.c)
target_link_libraries(test_agree PRIVATE specnmf_core)
sn_add_mpi_test(comm_agree py/run_mpi_exe.py $<TARGET_FILE:test_agree>)
