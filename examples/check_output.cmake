# examples/check_output.cmake - runs PROGRAM and fails unless it exits with 0
# and prints exactly EXPECTED (plus a final newline).
# Usage: cmake -DPROGRAM=path -DEXPECTED=text -P check_output.cmake
execute_process(COMMAND ${PROGRAM} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}; it printed:\n${out}")
endif()
if(NOT out STREQUAL "${EXPECTED}\n")
  message(FATAL_ERROR "${PROGRAM} printed:\n${out}\nexpected:\n${EXPECTED}")
endif()
message(STATUS "${PROGRAM} printed: ${EXPECTED}")
