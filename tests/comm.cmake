# The agreement contract and block ownership (parallel/comm/sn_comm), at 1, 2, 3 ranks.
add_executable(test_agree mpi/test_agree.c)
target_link_libraries(test_agree PRIVATE sn_comm)
sn_add_mpi_test(comm_agree py/run_mpi_exe.py $<TARGET_FILE:test_agree>)

# Variable-length string attributes through the bounded child of io/sn_h5.c:
# values on every rank, the three libhdf5 findings refused, cost of one read.
add_executable(test_h5_vstr mpi/test_h5_vstr.c)
target_link_libraries(test_h5_vstr PRIVATE sn_io sn_hdf5)
sn_add_mpi_test(h5_vstr py/run_mpi_exe.py $<TARGET_FILE:test_h5_vstr> ${CMAKE_SOURCE_DIR})

# SN_MPI_CALL: a failed MPI call (MPI_ERRORS_RETURN) ends the job with one
# "specnmf: error: FILE:LINE: CALL: reason" line, at 1, 2 and 3 ranks.
sn_add_mpi_test(comm_mpi_call py/test_mpi_call.py $<TARGET_FILE:test_agree>)

# Every MPI call in parallel/ and io/ goes through SN_MPI_CALL or is turned
# into an agreed error with a comment that says so (tests/py/check_mpi_calls.py).
sn_add_script_test(comm_mpi_checked py/check_mpi_calls.py ${CMAKE_SOURCE_DIR})
sn_add_script_test(comm_mpi_checked.selftest py/check_mpi_calls.py ${CMAKE_SOURCE_DIR} --selftest)
set_tests_properties(comm_mpi_checked comm_mpi_checked.selftest PROPERTIES TIMEOUT 30)
