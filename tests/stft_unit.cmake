# STFT / ISTFT kernels (src/sn_stft): C unit test against closed forms and a
# direct DFT, and a numpy/scipy check of librosa 0.11's conventions.
sn_add_unit_test(test_stft unit/test_stft.c LINK sn_numerics)
sn_add_script_test(stft_librosa py/check_stft_librosa.py $<TARGET_FILE:test_stft>)
# Benchmark (not a test): jobs/bench_stft.sh runs it next to scipy.signal.stft.
add_executable(bench_stft ${CMAKE_SOURCE_DIR}/jobs/bench/bench_stft.c)
target_link_libraries(bench_stft PRIVATE sn_numerics)
