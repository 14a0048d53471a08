# kite_tool_input: reading input files without blocking on FIFOs or devices
# (tools/common/input_file.h). Included by tools/common and by json.cmake, whose reader uses it.
if(NOT TARGET kite_tool_input)
  add_library(kite_tool_input STATIC ${CMAKE_CURRENT_LIST_DIR}/input_file.cc)
  target_include_directories(kite_tool_input PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(kite_tool_input PRIVATE -Wall -Wextra)
  target_link_libraries(kite_tool_input PUBLIC
    kite_platform absl::status absl::statusor absl::strings)
endif()
