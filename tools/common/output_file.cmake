# kite_output_file: replacing an output path safely (tools/common/output_file.h: a temporary
# beside it, renamed over it when complete), on Abseil's Status. Included by tools/common
# and by samples/generate (kite-generate --prompt-cache), which may be built without the tools.
if(NOT TARGET kite_output_file)
  add_library(kite_output_file STATIC ${CMAKE_CURRENT_LIST_DIR}/output_file.cc)
  target_include_directories(kite_output_file PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(kite_output_file PRIVATE -Wall -Wextra)
  target_link_libraries(kite_output_file PUBLIC absl::status absl::strings)
endif()
