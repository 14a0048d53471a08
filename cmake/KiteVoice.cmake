# KITE_WITH_VOICE: the voice assistant sample (samples/voice_assistant, kite-voice) and its
# tests (test/voice). It needs pocketsphinx, sphinxbase, espeak-ng and ALSA, found with
# pkg-config (Debian: libpocketsphinx-dev, libsphinxbase-dev, libespeak-ng-dev,
# libasound2-dev; tools/install-deps.sh installs them). On by default when all four are
# found; off for firmware.
#
# Cross builds look for them in the target sysroot: unless the environment already points
# pkg-config somewhere, PKG_CONFIG_LIBDIR and PKG_CONFIG_SYSROOT_DIR are set to the
# sysroot's pkgconfig folders and the sysroot.
# Sets KITE_VOICE_DEPS: the imported target PkgConfig::KITE_VOICE_PKGS when on.
if(KITE_PLATFORM STREQUAL "baremetal" OR NOT KITE_BUILD_SAMPLES)
  set(kite_voice_default OFF)
else()
  if(CMAKE_CROSSCOMPILING AND CMAKE_SYSROOT AND NOT DEFINED ENV{PKG_CONFIG_LIBDIR})
    set(kite_voice_triple "${CMAKE_LIBRARY_ARCHITECTURE}")
    if(NOT kite_voice_triple AND DEFINED KITE_CROSS_TRIPLE)
      set(kite_voice_triple "${KITE_CROSS_TRIPLE}")
    endif()
    set(ENV{PKG_CONFIG_LIBDIR}
        "${CMAKE_SYSROOT}/usr/lib/${kite_voice_triple}/pkgconfig:${CMAKE_SYSROOT}/usr/lib/pkgconfig:${CMAKE_SYSROOT}/usr/share/pkgconfig")
    set(ENV{PKG_CONFIG_SYSROOT_DIR} "${CMAKE_SYSROOT}")
  endif()
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(KITE_VOICE_PKGS QUIET IMPORTED_TARGET pocketsphinx sphinxbase espeak-ng alsa)
  endif()
  if(KITE_VOICE_PKGS_FOUND)
    set(kite_voice_default ON)
  else()
    set(kite_voice_default OFF)
  endif()
  if(NOT KITE_VOICE_PKGS_FOUND AND NOT KITE_WITH_VOICE)
    message(STATUS "Voice assistant sample (kite-voice) off: needs pkg-config and pocketsphinx, "
                   "sphinxbase, espeak-ng and alsa (tools/install-deps.sh installs them)")
  endif()
endif()
option(KITE_WITH_VOICE "Build the voice assistant sample kite-voice (samples/voice_assistant)"
       ${kite_voice_default})
if(KITE_WITH_VOICE)
  if(KITE_PLATFORM STREQUAL "baremetal" OR NOT KITE_BUILD_SAMPLES)
    message(FATAL_ERROR "KITE_WITH_VOICE=ON needs a host OS and KITE_BUILD_SAMPLES=ON")
  endif()
  if(NOT KITE_VOICE_PKGS_FOUND)
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(KITE_VOICE_PKGS REQUIRED IMPORTED_TARGET pocketsphinx sphinxbase espeak-ng alsa)
  endif()
  # Debian's sphinxbase.pc names /usr/include/sphinxbase, which its multiarch package no
  # longer has (the headers are in /usr/include/<triple>/sphinxbase, also named): CMake
  # refuses an imported target with a missing include folder, so drop the missing ones.
  get_target_property(kite_voice_includes PkgConfig::KITE_VOICE_PKGS
                      INTERFACE_INCLUDE_DIRECTORIES)
  set(kite_voice_existing "")
  foreach(dir IN LISTS kite_voice_includes)
    if(IS_DIRECTORY "${dir}")
      list(APPEND kite_voice_existing "${dir}")
    endif()
  endforeach()
  set_target_properties(PkgConfig::KITE_VOICE_PKGS PROPERTIES
                        INTERFACE_INCLUDE_DIRECTORIES "${kite_voice_existing}")
  set(KITE_VOICE_DEPS PkgConfig::KITE_VOICE_PKGS)
endif()
