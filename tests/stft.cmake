# The distributed spectrogram: specnmf stft / istft against numpy's librosa
# conventions, and the bad-input contract (one error line, non-zero exit, no
# output, no hang), each at 1, 2 and 3 ranks.
sn_add_mpi_test(stft_cli py/stft_cli_check.py)
sn_add_mpi_test(stft_badinput py/stft_badinput_check.py)
