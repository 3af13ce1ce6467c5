# Online (mini-batch) NMF tests (engineer: online, issue 12).
sn_add_mpi_test(nmf_online py/test_nmf_online.py)
sn_add_mpi_test(nmf_online_errors py/test_nmf_online_errors.py)
foreach(np 1 2 3)
  set_tests_properties(nmf_online.np${np} PROPERTIES TIMEOUT 400)
  set_tests_properties(nmf_online_errors.np${np} PROPERTIES TIMEOUT 300)
endforeach()
