# Automatic grouping of components into sources: separate -k R --sources S
# (engineer: group). The clustering alone, then the command at 1, 2, 3 ranks.
sn_add_unit_test(test_group unit/test_group.c LINK sn_numerics)
sn_add_mpi_test(separate_grouping py/test_separate_grouping.py)
foreach(np 1 2 3)
  set_tests_properties(separate_grouping.np${np} PROPERTIES TIMEOUT 200)
endforeach()
