# Audio input (io/sn_audio) and the parallel WAV writer (io/sn_wav).
sn_add_unit_test(test_audio unit/test_audio.c LINK sn_io sn_hdf5)

# MPI driver for the python checks (mixing, resampling, normalize, WAV writer)
add_executable(test_audio_tool unit/test_audio_tool.c)
target_link_libraries(test_audio_tool PRIVATE sn_io sn_hdf5)
sn_add_mpi_test(test_audio_io py/test_audio_io.py $<TARGET_FILE:test_audio_tool>)
foreach(np 1 2 3)
  # ~25 launches of mpirun: allow for a loaded machine
  set_tests_properties(test_audio_io.np${np} PROPERTIES TIMEOUT 300)
endforeach()

# The bundled example recording and its stem recipe (needs fluidsynth,
# fluid-soundfont-gm, hydrogen-drumkits)
sn_add_script_test(test_audio_example py/test_audio_example.py)
