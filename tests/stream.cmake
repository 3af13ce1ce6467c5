# Streamed fixed-dictionary separation: separate --block-seconds (issue 12).
sn_add_mpi_test(stream py/test_stream.py)
foreach(np 1 2 3)
  # a few dozen launches and three interrupted long runs on 2 shared cores
  set_tests_properties(stream.np${np} PROPERTIES TIMEOUT 400)
endforeach()
