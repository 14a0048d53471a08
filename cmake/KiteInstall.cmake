# `cmake --install` and `cpack`: Kite as a library other projects use (README "Install").
#   include/kite/kite.h
#   lib/libkite.so.0.1.0 (SONAME libkite.so.0; exports the kite_* C API only), libkite.a
#     (every layer's objects in one archive)
#   lib/cmake/Kite/KiteConfig.cmake + KiteConfigVersion.cmake: find_package(Kite) gives
#     Kite::kite, the shared library, or the static one when KITE_USE_STATIC_LIBS is ON
#     before find_package; Kite::kite_shared and Kite::kite_static name each directly.
#   lib/pkgconfig/kite.pc
#   bin/: kite-convert, kite-generate, kite-bench, kite-eval, kite-inspect, kite-tokenize
# Included at the end of the top-level CMakeLists.txt, after every target exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# What a program linking libkite.a also needs: one list, used by both KiteConfig.cmake and
# kite.pc (Libs.private). Threads come separately (Threads::Threads / -pthread).
set(KITE_STATIC_LINK_DEPS)
if(KITE_WITH_XNNPACK)
  list(APPEND KITE_STATIC_LINK_DEPS XNNPACK)
endif()
list(APPEND KITE_STATIC_LINK_DEPS pthreadpool)
if(NOT KITE_PLATFORM STREQUAL "baremetal")
  # platform/posix/dynamic_library.cc (dlopen: the Vulkan backend loads libvulkan at run
  # time, so nothing links libvulkan itself).
  list(APPEND KITE_STATIC_LINK_DEPS ${CMAKE_DL_LIBS})
endif()
list(APPEND KITE_STATIC_LINK_DEPS stdc++ m)  # the runtime is C++; apps may be plain C

install(FILES ${PROJECT_SOURCE_DIR}/sdk/include/kite/kite.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kite)

set_target_properties(kite_shared PROPERTIES EXPORT_NAME kite_shared)
set_target_properties(kite_static_bundle PROPERTIES EXPORT_NAME kite_static)
target_include_directories(kite_static_bundle INTERFACE
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
foreach(dep ${KITE_STATIC_LINK_DEPS} Threads::Threads)
  target_link_libraries(kite_static_bundle INTERFACE $<INSTALL_INTERFACE:${dep}>)
endforeach()
install(TARGETS kite_shared kite_static_bundle EXPORT KiteTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(KITE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Kite)
install(EXPORT KiteTargets NAMESPACE Kite:: DESTINATION ${KITE_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/KiteConfig.cmake.in
  ${PROJECT_BINARY_DIR}/KiteConfig.cmake INSTALL_DESTINATION ${KITE_CMAKE_DIR})
# 0.x: a minor version may change the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/KiteConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/KiteConfig.cmake ${PROJECT_BINARY_DIR}/KiteConfigVersion.cmake
        DESTINATION ${KITE_CMAKE_DIR})

# kite.pc finds its prefix from its own folder, so the tree may be installed anywhere.
set(kite_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH KITE_PC_TO_PREFIX /prefix/${kite_pc_dir} /prefix)
string(REGEX REPLACE "/$" "" KITE_PC_TO_PREFIX "${KITE_PC_TO_PREFIX}")
list(TRANSFORM KITE_STATIC_LINK_DEPS PREPEND -l OUTPUT_VARIABLE kite_libs_private)
list(JOIN kite_libs_private " " KITE_PC_LIBS_PRIVATE)
configure_file(${CMAKE_CURRENT_LIST_DIR}/kite.pc.in ${PROJECT_BINARY_DIR}/kite.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/kite.pc DESTINATION ${kite_pc_dir})

foreach(tool kite-convert kite-generate kite-chat kite-bench kite-eval kite-inspect kite-tokenize)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# cpack -G DEB: one package with the library, header, CMake/pkg-config files and tools. A
# native build lets dpkg-shlibdeps find the dependencies; a cross build (the aarch64/armv7
# presets, whose toolchain names the Debian architecture) lists them, since dpkg-shlibdeps
# cannot read the target's libraries.
set(KITE_PACKAGE_MAINTAINER "Kite maintainers <kite@localhost>" CACHE STRING
    "Maintainer field of the .deb cpack builds")
set(CPACK_PACKAGE_NAME kite)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Kite")
set(kite_deb_tools "")
if(KITE_BUILD_TOOLS)
  set(kite_deb_tools ", and the tools kite-convert, kite-generate, kite-bench, kite-eval, kite-inspect and kite-tokenize")
endif()
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Run language models on small devices: the Kite C API library")
set(CPACK_PACKAGE_DESCRIPTION
    "Kite runs .kite language models on the CPUs of phones, single-board computers and servers through a small C API (kite/kite.h). This package holds libkite (shared and static), the header, the CMake package (find_package(Kite)) and kite.pc${kite_deb_tools}.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${KITE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
if(CMAKE_CROSSCOMPILING)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${KITE_CROSS_SYSROOT_ARCH})
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  set(kite_deb_depends "libc6 (>= 2.36)" "libstdc++6 (>= 12)" "libpthreadpool0")
  if(KITE_WITH_XNNPACK)
    list(APPEND kite_deb_depends libxnnpack0)
  endif()
  list(JOIN kite_deb_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
if(KITE_WITH_VULKAN)
  # libvulkan is loaded at run time (not a NEEDED entry, so not in Depends): without it the
  # Vulkan backend reports the missing loader and `auto` runs on the CPU.
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS libvulkan1)
endif()
set(CPACK_GENERATOR DEB)
include(CPack)
