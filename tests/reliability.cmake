# Reliability (issue 7): fault matrix at 2 and 3 ranks, checkpoints under
# SIGKILL/SIGTERM and corruption, hostile inputs, determinism, valgrind, and
# the regression inputs of the fuzz targets (tests/fuzz). See docs/reliability.md.

# One test per command and rank count running every phase of that command
# (a command missing from the build fails it).
foreach(cmd stft istft nmf nnls mel mel-invert separate griffinlim score)
  foreach(np 2 3)
    _sn_add(fault.${cmd}.np${np} ${np} "fault;mpi" fault/fault_matrix.py ${cmd})
    set_tests_properties(fault.${cmd}.np${np} PROPERTIES TIMEOUT 300)
  endforeach()
endforeach()

# NMF checkpoints: SIGKILL at random points then --resume equals an uninterrupted
# run bit for bit; SIGTERM/SIGUSR1 checkpoint and exit 10; corrupted checkpoints refused.
# (2 ranks: the kills and signals are per rank; ~2 min)
foreach(np 1 2 3)
  _sn_add(fault.checkpoint.np${np} ${np} "fault;mpi" fault/checkpoint_kill.py)
  set_tests_properties(fault.checkpoint.np${np} PROPERTIES TIMEOUT 400)
endforeach()

# Hostile inputs and outputs: refused with one clear line or handled, never a
# crash, a hang or a write elsewhere (prints the table kept in docs/reliability.md).
_sn_add(hostile.np2 2 "fault;mpi" fault/hostile_inputs.py)
set_tests_properties(hostile.np2 PROPERTIES TIMEOUT 600)

# Fuzz targets: regression inputs in every build, libFuzzer with -DSN_FUZZ=ON.
add_subdirectory(${CMAKE_CURRENT_SOURCE_DIR}/fuzz ${CMAKE_CURRENT_BINARY_DIR}/fuzz)

# valgrind memcheck on small 1-rank runs (skips in -march=native builds).
if(SN_NATIVE AND CMAKE_BUILD_TYPE STREQUAL "Release")
  set(_sn_vg_arg native)
else()
  set(_sn_vg_arg portable)
endif()
_sn_add(valgrind.np1 1 "valgrind" fault/valgrind_check.sh ${_sn_vg_arg})
set_tests_properties(valgrind.np1 PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77)

# Determinism: identical values for the same seed/ranks/build/wisdom; 1e-5 across rank counts.
foreach(np 2 3)
  _sn_add(determinism.np${np} ${np} "mpi" fault/determinism.py)
  set_tests_properties(determinism.np${np} PROPERTIES TIMEOUT 300)
endforeach()

# 64-bit sizes: counts above 2^31, overflow refusals, ownership of 2^34 columns.
sn_add_unit_test(test_sizes fault/test_sizes.c LINK sn_io sn_hdf5)

# The libhdf5 findings of the fuzz runs through the commands, at 1 and 2 ranks:
# refused with one line and exit 3, no crash, no hang (io/sn_h5.c reads
# variable-length strings in a bounded child process).
foreach(np 1 2)
  _sn_add(h5_findings.np${np} ${np} "fault;mpi" fault/h5_findings.py)
  set_tests_properties(h5_findings.np${np} PROPERTIES TIMEOUT 300)
endforeach()

# A full disk before and during the collective writes (stft, nmf with
# checkpoints, separate) at 2 and 3 ranks, on a 64 MiB tmpfs (root; skips
# with 77 otherwise, fails in CI): exit 4 within 60 s, one line, no output,
# no temporary file, the last checkpoint kept.
foreach(np 2 3)
  _sn_add(disk_full.np${np} ${np} "fault;mpi" fault/disk_full.py)
  set_tests_properties(disk_full.np${np} PROPERTIES TIMEOUT 1200 SKIP_RETURN_CODE 77)
endforeach()

# Soak (not in the default run): 100 separate --force runs at 3 ranks with
# seeded faults and crashes; no hang, stable peak RSS, crashed runs' temporary
# files removed by the next --force run. ~5-10 min:
#   cmake -DSN_SOAK=ON BUILD && ctest --test-dir BUILD -L soak --output-on-failure
option(SN_SOAK "Add the soak test (label soak) to ctest" OFF)
_sn_add(soak.np3 3 "soak" fault/soak.py)
set_tests_properties(soak.np3 PROPERTIES TIMEOUT 3600)
if(NOT SN_SOAK)
  set_tests_properties(soak.np3 PROPERTIES DISABLED TRUE)
endif()
