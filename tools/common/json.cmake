# kite_json: the host side's one JSON reader and writer (tools/common/json.h), on
# nlohmann-json (Debian: nlohmann-json3-dev) and Abseil's Status. Included by tools/common
# and, when the tools are off, by the samples and the cross-built tests that need it.
include(${CMAKE_CURRENT_LIST_DIR}/input_file.cmake)
if(NOT TARGET kite_json)
  find_package(nlohmann_json 3.10 CONFIG REQUIRED)
  add_library(kite_json STATIC ${CMAKE_CURRENT_LIST_DIR}/json.cc)
  target_include_directories(kite_json PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(kite_json PRIVATE -Wall -Wextra)
  target_link_libraries(kite_json PUBLIC kite_tool_input absl::status absl::statusor absl::strings
                        absl::str_format PRIVATE nlohmann_json::nlohmann_json)
endif()
