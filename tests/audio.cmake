# Audio input (io/sn_audio) and the parallel WAV writer (io/sn_wav).
sn_add_unit_test(test_audio unit/test_audio.c)
