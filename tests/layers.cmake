# The layers the build enforces (docs/architecture.md): include edges counted
# folder by folder (src, parallel/comm, io, parallel, parallel/cmd); an upward
# edge or a cycle fails. The selftest feeds it broken trees that must fail.
sn_add_script_test(layers py/check_layers.py ${CMAKE_SOURCE_DIR})
sn_add_script_test(layers.selftest py/check_layers.py --selftest)
set_tests_properties(layers layers.selftest PROPERTIES TIMEOUT 30 LABELS "unit;script")
