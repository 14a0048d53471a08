# cmake -DREADELF=... -DFILES="a;b" -P check_not_linked.cmake: fails when the dynamic section
# of any file lists libvulkan as NEEDED (the Vulkan backend loads it at run time instead,
# sdk/backends/vulkan/loader.h, so a build with the backend starts without the loader).
foreach(file ${FILES})
  execute_process(COMMAND ${READELF} -d ${file} OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "readelf -d ${file} failed (${rc})")
  endif()
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*" needed "${dynamic}")
  if(NOT needed)
    message(FATAL_ERROR "${file}: no NEEDED entries found (is it dynamically linked?)")
  endif()
  if("${needed}" MATCHES "libvulkan")
    message(FATAL_ERROR "${file} links libvulkan: ${needed}")
  endif()
  message(STATUS "${file}: no libvulkan among ${needed}")
endforeach()
