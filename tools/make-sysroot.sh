#!/usr/bin/env bash
# Builds a Debian 12 target sysroot for the Raspberry Pi cross builds, from Debian packages
# unpacked with `dpkg-deb -x` (never a multiarch install: installing arm64/armhf -dev
# packages beside the host's breaks the host's XNNPACK).
#
# Usage: tools/make-sysroot.sh arm64|armhf [DIR]
#   DIR defaults to build/sysroot-<arch> (the default of the toolchain files).
#
# apt runs with a private state and cache under build/apt-<arch>/, configured for the target
# architecture only, so the host's dpkg database and apt configuration are never changed
# (no `dpkg --add-architecture`). The sysroot holds the target's glibc (headers, crt files,
# ld-linux), libstdc++/libgcc runtime, XNNPACK + pthreadpool + cpuinfo, FlatBuffers headers,
# GoogleTest/GoogleMock, and Abseil and nlohmann-json (the tests read their JSON goldens with
# the tools' JSON library, tools/common/json.h). The cross compiler is the
# Debian package (g++-aarch64-linux-gnu / g++-arm-linux-gnueabihf), used with --sysroot;
# qemu runs the tests with `-L DIR` (toolchains/qemu-run.sh).
#
# Idempotent: a finished sysroot (marker file .kite-sysroot-done listing the packages and
# this script's checksum) is left alone; rerun with KITE_SYSROOT_FORCE=1 to rebuild it.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-}
case "$arch" in
  arm64) triple=aarch64-linux-gnu ;;
  armhf) triple=arm-linux-gnueabihf ;;
  *) echo "usage: tools/make-sysroot.sh arm64|armhf [DIR]" >&2; exit 2 ;;
esac
sysroot=${2:-build/sysroot-$arch}

packages=(
  libc6 libc6-dev linux-libc-dev libcrypt1 libcrypt-dev libgcc-s1 libstdc++6
  libxnnpack0 libxnnpack-dev libpthreadpool0 libpthreadpool-dev libcpuinfo0
  libflatbuffers2 libflatbuffers-dev
  libgtest-dev libgmock-dev
  libabsl20220623 libabsl-dev
  nlohmann-json3-dev
  # The voice assistant (samples/voice_assistant, KITE_WITH_VOICE): ALSA, espeak-ng and its
  # data, pocketsphinx with sphinxbase and the US English model. The rest is their runtime
  # closure (every DT_NEEDED must resolve in the sysroot, checked below): espeak-ng's audio
  # layer pcaudio and sonic; sphinxbase's BLAS/LAPACK and its audio library's PulseAudio
  # client, which pulls in D-Bus, systemd, X11/xcb and libsndfile's codecs.
  libasound2 libasound2-data libasound2-dev
  libespeak-ng1 libespeak-ng-dev espeak-ng-data libpcaudio0 libsonic0
  libpocketsphinx3 libpocketsphinx-dev libsphinxbase3 libsphinxbase-dev pocketsphinx-en-us
  libblas3 liblapack3 libgfortran5
  libpulse0 libasyncns0 libdbus-1-3 libsystemd0 libcap2 libgcrypt20 libgpg-error0 liblz4-1
  liblzma5 libzstd1 libx11-6 libx11-xcb1 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0
  libsndfile1 libflac12 libogg0 libvorbis0a libvorbisenc2 libopus0 libmpg123-0 libmp3lame0
)

marker="$sysroot/.kite-sysroot-done"
stamp="${packages[*]} $(sha256sum tools/make-sysroot.sh | cut -d' ' -f1)"
if [ "${KITE_SYSROOT_FORCE:-0}" != "1" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ]; then
  echo "make-sysroot: $sysroot is up to date"
  exit 0
fi

state="$PWD/build/apt-$arch"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/prefs" "$state/debs"
touch "$state/status"
apt_opts=(
  -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
  -o "Dir::State=$state" -o "Dir::State::Lists=$state/lists"
  -o "Dir::State::status=$state/status" -o "Dir::Cache=$state/cache"
  -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$state/prefs"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
)

# The package lists of the target architecture (private; refreshed once a day at most).
if [ -z "$(find "$state/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null)" ]; then
  echo "make-sysroot: apt-get update ($arch, private state in $state)"
  # A mirror caught mid-sync fails one index now and then: retry, then go on with what
  # arrived as long as the main suite's list did (security updates are not needed to build).
  if ! apt-get "${apt_opts[@]}" -q update >/dev/null 2>"$state/update.log" &&
     ! apt-get "${apt_opts[@]}" -q update >/dev/null 2>"$state/update.log"; then
    if [ -z "$(find "$state/lists" -maxdepth 1 -name "*_bookworm_main_binary-${arch}_Packages*")" ]; then
      cat "$state/update.log" >&2
      exit 1
    fi
    echo "make-sysroot: warning: some package lists failed to download (see $state/update.log)"
  fi
fi

echo "make-sysroot: downloading ${#packages[@]} $arch packages"
# The .deb files of this list (printed for an empty folder, so all of them); the ones already
# in build/apt-<arch>/debs from an earlier run are kept (apt-get download skips them), the
# others removed, so a changed list downloads only what is new.
debs=$(cd "$state/prefs" && apt-get "${apt_opts[@]}" -q --print-uris download "${packages[@]}" |
       awk '{print $2}')
for deb in "$state"/debs/*.deb; do
  if [ -e "$deb" ] && ! grep -qxF "$(basename "$deb")" <<<"$debs"; then rm -f "$deb"; fi
done
(cd "$state/debs" && apt-get "${apt_opts[@]}" -q download "${packages[@]}" >/dev/null)

rm -rf "$sysroot"
mkdir -p "$sysroot"
for deb in $debs; do
  dpkg-deb -x "$state/debs/$deb" "$sysroot"
done

# Debian's -dev packages link libfoo.so with absolute symlinks (/lib/<triple>/libfoo.so.N);
# inside a sysroot they must be relative to it.
find "$sysroot" -type l -lname '/*' | while read -r link; do
  target=$(readlink "$link")
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")" "$link"
done

# libblas.so.3 and liblapack.so.3 are Debian alternatives, linked by the packages' postinst
# scripts, which `dpkg-deb -x` does not run: link the reference implementations.
for lib in blas lapack; do
  if [ -e "$sysroot/usr/lib/$triple/$lib/lib$lib.so.3" ]; then
    ln -sfn "$lib/lib$lib.so.3" "$sysroot/usr/lib/$triple/lib$lib.so.3"
  fi
done

# A 32-bit program under qemu-user on a 64-bit host cannot list an ext4 folder: glibc's
# 32-bit readdir fails (EOVERFLOW) on the host's 64-bit directory offsets. espeak-ng lists
# its voice folders to find a voice by name, unless the name is a file in lang/: link the
# voices kite-voice uses (en, espeak-ng's default, and en-us, kite-voice's) there, so the
# armv7 tests speak. On a Pi, a 32-bit kernel gives 32-bit offsets; the links change nothing.
if [ "$arch" = armhf ]; then
  ln -sfn gmw/en "$sysroot/usr/lib/$triple/espeak-ng-data/lang/en"
  ln -sfn gmw/en-US "$sysroot/usr/lib/$triple/espeak-ng-data/lang/en-us"
fi

# Every shared library must find its DT_NEEDED libraries inside the sysroot (in the loader's
# folders or the library's own RUNPATH, which is where libpulse keeps libpulsecommon), or the
# link (-rpath-link) or qemu fails later with a less clear message.
libdirs=("$sysroot/lib/$triple" "$sysroot/usr/lib/$triple")
missing=$(find "${libdirs[@]}" -maxdepth 1 -name '*.so*' -type f | while read -r lib; do
  dynamic=$(readelf -d "$lib" 2>/dev/null) || continue  # glibc's linker scripts are text
  dirs=("${libdirs[@]}")
  for dir in $(sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p' <<<"$dynamic" | tr ':' ' '); do
    dirs+=("$sysroot$dir")
  done
  sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dynamic" | while read -r needed; do
    found=0
    for dir in "${dirs[@]}"; do
      if [ -e "$dir/$needed" ]; then found=1; break; fi
    done
    [ "$found" = 1 ] || echo "  ${lib#"$sysroot"/} needs $needed"
  done
done)
if [ -n "$missing" ]; then
  echo "make-sysroot: libraries with dependencies missing from $sysroot (add their packages):" >&2
  echo "$missing" >&2
  exit 1
fi

# glibc's linker scripts (libc.so, libm.so) name absolute paths; the linker resolves them
# inside --sysroot, so they stay as they are.
test -e "$sysroot/usr/lib/$triple/libc.so" || { echo "make-sysroot: no libc.so in $sysroot" >&2; exit 1; }
test -e "$sysroot/usr/lib/$triple/libXNNPACK.so" || { echo "make-sysroot: no XNNPACK in $sysroot" >&2; exit 1; }

echo "$stamp" > "$marker"
echo "make-sysroot: $sysroot ready ($(du -sh "$sysroot" | cut -f1))"
