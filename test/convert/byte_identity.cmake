# Converted files stay byte-identical: converts a fixed set of inputs with every family of
# options and compares each file's SHA-256 with test/convert/byte_identity.sums. A change
# that moves a byte of any .kite file fails here; a deliberate format change updates the
# sums (run with -DUPDATE=1 to print the new list) and says why in its commit.
#
# cmake -DCONVERT=<kite-convert> -DMODELS=<shared/models> -DSUMS=<sums file> -DWORK=<dir>
#       [-DUPDATE=1] -P byte_identity.cmake
foreach(var CONVERT MODELS SUMS WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "byte_identity.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
# Calibration text, passed by a relative name (the provenance records the path as given).
file(READ "${MODELS}/eval/stories260K-samples-dev.txt" calib LIMIT 6000)
file(WRITE "${WORK}/calib.txt" "${calib}")

# One case per line: NAME|ARGUMENTS (paths have no spaces; see separate_arguments).
set(S "${MODELS}")
set(L "${S}/stories260K.bin --tokenizer ${S}/tok512.bin")
set(CALIB "--calib calib.txt --calib-tokens 512")
set(cases
  "f32|${L}"
  "q8|${L} --quant q8"
  "q4|${L} --quant q4"
  "q4sym|${L} --quant q4 --q4-groups sym"
  "q4symc|${L} --quant q4 --q4-groups sym-compact"
  "q4maxabs|${L} --quant q4 --q4-groups sym-maxabs"
  "q4g64|${L} --quant q4 --group-size 64"
  "q4g128|${L} --quant q4 --group-size 128 --keep-8bit none"
  "q4sp24|${L} --quant q4 --sparse 2:4"
  "q4mag|${L} --quant q4 --prune magnitude --sparsity 0.3"
  "gptq|${L} --quant q4 ${CALIB}"
  "sparsegpt|${L} --quant q4 ${CALIB} --prune 2:4-sparsegpt"
  "bpw|${L} --quant q4 ${CALIB} --bpw 5 --threads 2"
  "distill|${L} --quant q4 ${CALIB} --distill --distill-steps 3 --threads 2"
  "gguf|${S}/stories260K.gguf --quant q4"
  "ggufchat|${S}/stories260K.gguf --chat-format chatml --target aarch64"
  "hff32|${S}/hf/stories260K-hf-f32-sharded --tokenizer ${S}/tok512.bin --quant q4"
  "hfbf16|${S}/hf/stories260K-hf-bf16 --tokenizer ${S}/tok512.bin"
  "gpt2vocab|--vocab-only ${S}/tokenizers/ggml-vocab-gpt-2.gguf"
  "gpt2json|--vocab-only ${S}/tokenizers/gpt2-tokenizer.json"
  "synth|--synthetic stories260k --quant q4 --seed 3"
  "synthsp24|--synthetic smollm-135m --vocab 300 --quant q4 --sparse 2:4"
  "q4cb|${L} --quant q4 --q4-groups codebook"
  # The same sum twice: the codebook converter's file does not depend on --threads.
  "synthcb1|--synthetic stories260k --quant q4 --q4-groups codebook --seed 3 --threads 1"
  "synthcb2|--synthetic stories260k --quant q4 --q4-groups codebook --seed 3 --threads 2")

file(STRINGS "${SUMS}" expected_lines REGEX "^[0-9a-f]+ +[a-z0-9]+$")
set(failures "")
set(listing "")
foreach(case IN LISTS cases)
  string(FIND "${case}" "|" bar)
  string(SUBSTRING "${case}" 0 ${bar} name)
  math(EXPR start "${bar} + 1")
  string(SUBSTRING "${case}" ${start} -1 argstr)
  separate_arguments(args UNIX_COMMAND "${argstr}")
  execute_process(COMMAND "${CONVERT}" ${args} -o "${name}.kite"
    WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(APPEND failures "  ${name}: kite-convert failed (${rc}): ${err}\n")
    continue()
  endif()
  file(SHA256 "${WORK}/${name}.kite" sum)
  string(APPEND listing "${sum} ${name}\n")
  set(want "")
  foreach(line IN LISTS expected_lines)
    if(line MATCHES "^([0-9a-f]+) +${name}$")
      set(want "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  if(NOT want STREQUAL sum)
    string(APPEND failures "  ${name}: sha256 ${sum}, expected '${want}' (args: ${args})\n")
  endif()
endforeach()

if(UPDATE)
  message("${listing}")
elseif(failures)
  message(FATAL_ERROR "converted files differ from ${SUMS}:\n${failures}")
else()
  list(LENGTH cases n)
  message(STATUS "byte identity: ${n} converted files match ${SUMS}")
endif()
