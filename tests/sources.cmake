# Named sources: learn, separate --source (engineer: sources).
sn_add_mpi_test(learn py/test_learn.py)
sn_add_mpi_test(separate_sources py/test_separate_sources.py)
sn_add_mpi_test(sources_errors py/test_sources_errors.py)
foreach(np 1 2 3)
  # dozens of launches each (a few seconds apiece on 2 shared cores)
  set_tests_properties(learn.np${np} separate_sources.np${np} sources_errors.np${np} PROPERTIES TIMEOUT 400)
endforeach()
