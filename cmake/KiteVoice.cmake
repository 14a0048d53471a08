# KITE_WITH_VOICE: the voice assistant sample (samples/voice_assistant, kite-voice) and its
# tests (test/voice). It needs pocketsphinx, sphinxbase, espeak-ng and ALSA, found with
# pkg-config (Debian: libpocketsphinx-dev, libsphinxbase-dev, libespeak-ng-dev,
# libasound2-dev; tools/install-deps.sh installs them). On by default when all four are
# found; off for firmware.
#
# Cross builds look for them in the target sysroot: toolchains/linux-cross.cmake points
# pkg-config at the sysroot's pkgconfig folders only.
# Sets KITE_VOICE_DEPS: the imported target PkgConfig::KITE_VOICE_PKGS when on.
if(KITE_PLATFORM STREQUAL "baremetal" OR NOT KITE_BUILD_SAMPLES)
  set(kite_voice_default OFF)
else()
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
