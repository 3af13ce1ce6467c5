# specnmf score: BSS Eval v3 against mir_eval, and its bad inputs (engineer: score).
sn_add_mpi_test(score py/test_score.py)
sn_add_mpi_test(score_errors py/test_score_errors.py)
foreach(np 1 2 3)
  # score: mir_eval takes most (about 15 s of CPU); errors: 15 launches. Room for a shared machine.
  set_tests_properties(score.np${np} score_errors.np${np} PROPERTIES TIMEOUT 240)
endforeach()
# src/sn_bss: the correlator against direct sums, the Hungarian and grouping searches.
sn_add_unit_test(test_bss unit/test_bss.c LINK sn_numerics)
