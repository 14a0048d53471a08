# Runs one libFuzzer target for a bounded time from a fresh copy of its seed corpus (the
# ctest command of every fuzz target in the fuzz preset, see CMakeLists.txt here).
#
# Usage: cmake -DFUZZER=<binary> -DNAME=<target> -DSEEDS="<file|dir>|<file|dir>..."
#              -DWORK=<scratch folder> [-DSECONDS=20] -P run_libfuzzer.cmake
#
# WORK is emptied first; the seeds (files, or every regular file of a folder) are copied to
# WORK/corpus, where libFuzzer also adds the inputs it finds interesting, so the source tree
# is never written. Crash inputs land in WORK/ (-artifact_prefix). The script prints one
# summary line, "fuzz NAME: E executions in S s (R/s), coverage C, features F, corpus N, peak RSS M MB",
# also written to WORK/stats.txt, and fails when libFuzzer reports a crash, a leak, a
# timeout or an out-of-memory input (naming the saved input).
foreach(var FUZZER NAME WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_libfuzzer.cmake: -D${var}= is required")
  endif()
endforeach()
if(NOT DEFINED SECONDS)
  set(SECONDS 20)
endif()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus")
string(REPLACE "|" ";" seed_list "${SEEDS}")
set(copied 0)
foreach(seed IN LISTS seed_list)
  if(IS_DIRECTORY "${seed}")
    file(GLOB files LIST_DIRECTORIES false "${seed}/*")
  elseif(EXISTS "${seed}")
    set(files "${seed}")
  else()
    message(FATAL_ERROR "fuzz ${NAME}: seed '${seed}' does not exist (the model seeds come "
                        "from the release build: build and test the release preset first)")
  endif()
  foreach(file IN LISTS files)
    # Unique names: seeds of different folders may share a file name.
    get_filename_component(base "${file}" NAME)
    file(COPY_FILE "${file}" "${WORK}/corpus/${copied}-${base}")
    math(EXPR copied "${copied} + 1")
  endforeach()
endforeach()

# -timeout: one input may take at most this long (the slowest legitimate inputs, e.g. a
# model generating a few tokens under ASan, take well under a second).
# -rss_limit_mb / -malloc_limit_mb: an input that makes the code under test allocate
# beyond this is reported as a defect (hostile sizes must be rejected before allocating).
execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -timeout=25 -rss_limit_mb=2560
          -print_final_stats=1 "-artifact_prefix=${WORK}/" "${WORK}/corpus"
  WORKING_DIRECTORY "${WORK}"
  RESULT_VARIABLE status
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)

set(execs "?")
set(seconds "?")
set(rate "?")
set(cov "?")
set(ft "?")
set(corpus "?")
set(rss "?")
if(out MATCHES "stat::number_of_executed_units:[ \t]*([0-9]+)")
  set(execs "${CMAKE_MATCH_1}")
endif()
if(out MATCHES "stat::peak_rss_mb:[ \t]*([0-9]+)")
  set(rss "${CMAKE_MATCH_1}")
endif()
if(out MATCHES "Done [0-9]+ runs in ([0-9]+) second")
  set(seconds "${CMAKE_MATCH_1}")
endif()
if(out MATCHES "stat::average_exec_per_sec:[ \t]*([0-9]+)")
  set(rate "${CMAKE_MATCH_1}")
endif()
# The last status line (INITED/NEW/REDUCE/pulse/DONE) has the final coverage and corpus size.
string(REGEX MATCHALL "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+" lines "${out}")
list(LENGTH lines n_lines)
if(n_lines GREATER 0)
  list(GET lines -1 last)
  string(REGEX MATCH "cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)" unused "${last}")
  set(cov "${CMAKE_MATCH_1}")
  set(ft "${CMAKE_MATCH_2}")
  set(corpus "${CMAKE_MATCH_3}")
endif()
set(summary "fuzz ${NAME}: ${execs} executions in ${seconds} s (${rate}/s), coverage ${cov}, features ${ft}, corpus ${corpus}, peak RSS ${rss} MB")
file(WRITE "${WORK}/stats.txt" "${summary}\n")

if(NOT status EQUAL 0)
  file(GLOB artifacts "${WORK}/crash-*" "${WORK}/leak-*" "${WORK}/timeout-*" "${WORK}/oom-*"
       "${WORK}/slow-unit-*")
  message("${out}")
  message(FATAL_ERROR "fuzz ${NAME}: libFuzzer exited with ${status}; input(s): ${artifacts}\n"
                      "Replay: ${FUZZER} <input>. After the fix, add the input to "
                      "test/fuzz/seeds/ (see test/fuzz/CMakeLists.txt).")
endif()
message("${summary}")
