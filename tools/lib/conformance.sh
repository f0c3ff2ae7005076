# shellcheck shell=bash
# The conformance tests: what ferrocan promises of a bus, run where the whole
# suite is too slow or does not fit (the oldest kernel, every other Python).
# Sourced by tools/test-oldest and tools/test-pythons.
# shellcheck disable=SC2034  # used by the scripts that source it
readonly CONFORMANCE=(tests/test_bus.py tests/test_interop.py tests/test_periodic.py
                      tests/test_error_frames.py tests/test_socket_options.py
                      tests/test_link.py tests/test_send_queue.py)
