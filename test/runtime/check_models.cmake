# ctest fixture of cross builds: fails unless DIR holds the converted test models.
# Usage: cmake -DDIR=<folder> -P check_models.cmake
foreach(quant f32 q4)
  if(NOT EXISTS "${DIR}/stories260K-${quant}.kite")
    message(FATAL_ERROR "missing ${DIR}/stories260K-${quant}.kite: build and test the native "
                        "release preset first, and configure with -DKITE_TEST_MODELS_DIR")
  endif()
endforeach()
