# ctest driver for the firmware sample (cmake -P). Inputs (-D): QEMU, ELF, NM, GENERATE,
# MODEL, MAX_CONTEXT, PREFILL_CHUNK, ALLOCATORS (;-list), GOLDEN (optional json).
#
# 1. The image contains no heap allocator: every allocation entry point is wrapped, so
#    none of the C library's implementations may be linked in.
# 2. The host's kite-generate gives the expected greedy ids (scalar kernels, same model,
#    context and prefill chunk).
# 3. qemu-system-arm runs the firmware; it must exit with 0, print no FATAL line, and print
#    the same prompt and generated ids (and GOLDEN's, when given).
cmake_minimum_required(VERSION 3.25)

function(fail text)
  string(REPLACE ";" " " text "${text}")
  message(FATAL_ERROR "firmware test: ${text}")
endfunction()

# "1, 2, 3" or "1 2 3" -> a list of ids.
function(to_list text out)
  string(STRIP "${text}" text)
  string(REGEX REPLACE "[, \t\r\n]+" ";" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(json_ids json key out)
  string(REGEX MATCH "\"${key}\": *\\[([0-9, \t\r\n]*)\\]" found "${json}")
  if(NOT found)
    fail("no ${key} in the expected output")
  endif()
  to_list("${CMAKE_MATCH_1}" ids)
  set(${out} "${ids}" PARENT_SCOPE)
endfunction()

# 1. No allocator in the image.
execute_process(COMMAND ${NM} --defined-only ${ELF} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
string(APPEND symbols "\n")
if(NOT rc EQUAL 0)
  fail("${NM} failed on ${ELF}")
endif()
set(referenced "")
foreach(fn IN LISTS ALLOCATORS)
  if(symbols MATCHES "[ \t][TtWw] ${fn}\n")
    fail("${ELF} defines ${fn}: a heap allocator was linked in (is -Wl,--wrap missing?)")
  endif()
  if(symbols MATCHES "[ \t][Tt] __wrap_${fn}\n")
    list(APPEND referenced ${fn})
  endif()
endforeach()
if(referenced)
  list(JOIN referenced ", " referenced)
  message(STATUS "allocation entry points referenced (trapped if ever called): ${referenced}")
else()
  message(STATUS "no code in the image references an allocation function")
endif()

# 2. The host's tokens.
execute_process(
  COMMAND ${GENERATE} -m ${MODEL} -p "Once upon a time" -n 64 --temp 0 --isa scalar
          -c ${MAX_CONTEXT} --prefill-chunk ${PREFILL_CHUNK} --json
  OUTPUT_VARIABLE host_json ERROR_VARIABLE host_err RESULT_VARIABLE rc TIMEOUT 120)
if(NOT rc EQUAL 0)
  fail("host kite-generate failed (${rc}): ${host_err}")
endif()
json_ids("${host_json}" prompt_token_ids host_prompt)
json_ids("${host_json}" generated_token_ids host_ids)

# 3. The firmware.
string(TIMESTAMP start "%s")
execute_process(
  COMMAND ${QEMU} -M mps2-an500 -nographic -monitor none -serial none
          -semihosting-config enable=on,target=native -kernel ${ELF}
  OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc TIMEOUT 240)
string(TIMESTAMP end "%s")
math(EXPR seconds "${end} - ${start}")
message(STATUS "qemu-system-arm ran ${ELF} in about ${seconds} s; it printed:\n${out}")
if(NOT rc EQUAL 0)
  fail("the firmware exited with '${rc}' (3: heap used, 4: processor fault, 1: Kite error)")
endif()
if(out MATCHES "FATAL")
  fail("the firmware printed a FATAL line")
endif()
if(NOT out MATCHES "\nKITE_DONE\n")
  fail("the firmware did not reach KITE_DONE")
endif()
if(NOT out MATCHES "\nKITE_PROMPT_IDS:([0-9 ]*)\n")
  fail("no KITE_PROMPT_IDS line")
endif()
to_list("${CMAKE_MATCH_1}" fw_prompt)
if(NOT out MATCHES "\nKITE_IDS:([0-9 ]*)\n")
  fail("no KITE_IDS line")
endif()
to_list("${CMAKE_MATCH_1}" fw_ids)

list(LENGTH host_ids n_host)
if(NOT n_host EQUAL 64)
  fail("the host generated ${n_host} tokens, expected 64")
endif()
if(NOT fw_prompt STREQUAL host_prompt)
  fail("prompt ids differ:\n  firmware: ${fw_prompt}\n  host:     ${host_prompt}")
endif()
if(NOT fw_ids STREQUAL host_ids)
  fail("generated ids differ from the host's scalar run:\n  firmware: ${fw_ids}\n  host:     ${host_ids}")
endif()
message(STATUS "the firmware's 64 ids equal the host's (${MODEL})")

if(GOLDEN)
  file(READ ${GOLDEN} golden_json)
  json_ids("${golden_json}" generated_token_ids golden_ids)
  json_ids("${golden_json}" prompt_token_ids golden_prompt)
  if(NOT fw_prompt STREQUAL golden_prompt OR NOT fw_ids STREQUAL golden_ids)
    fail("ids differ from the golden ${GOLDEN}:\n  firmware: ${fw_ids}\n  golden:   ${golden_ids}")
  endif()
  message(STATUS "the firmware's ids equal the llama2.c golden (${GOLDEN})")
endif()
