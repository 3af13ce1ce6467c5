# Stereo and multichannel input: the channel rule, parts per channel, --mono,
# --channel K and dictionary rule checks (engineer: stereo, issue 11).
sn_add_mpi_test(stereo py/test_stereo.py $<TARGET_FILE:test_audio_tool>)
foreach(np 1 2 3)
  # about 30 launches (2 s apiece on 2 shared cores), twice that above 1 rank
  set_tests_properties(stereo.np${np} PROPERTIES TIMEOUT 600)
endforeach()
