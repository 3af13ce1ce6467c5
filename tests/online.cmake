# Online (mini-batch) NMF tests (engineer: online, issue 12).
sn_add_mpi_test(nmf_online py/test_nmf_online.py)
sn_add_mpi_test(nmf_online_errors py/test_nmf_online_errors.py)
foreach(np 1 2 3)
  set_tests_properties(nmf_online.np${np} PROPERTIES TIMEOUT 400)
  set_tests_properties(nmf_online_errors.np${np} PROPERTIES TIMEOUT 300)
endforeach()
# nmf --solver online holds no V: peak RSS under half the V block (about 192 MiB per rank).
sn_add_mpi_test(online_memory py/test_online_memory.py)
foreach(np 1 2 3)
  set_tests_properties(online_memory.np${np} PROPERTIES TIMEOUT 400)
  if(SN_SANITIZE) # AddressSanitizer's shadow memory and quarantine inflate RSS: the run is checked, not its memory
    set_property(TEST online_memory.np${np} APPEND PROPERTY ENVIRONMENT "SN_SANITIZED=1")
  endif()
endforeach()
# separate --solver online: V in a scratch file, W as nmf --solver online, parts add up.
sn_add_mpi_test(separate_online py/test_separate_online.py)
foreach(np 1 2 3)
  set_tests_properties(separate_online.np${np} PROPERTIES TIMEOUT 300)
endforeach()
