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
# Idempotent: a finished sysroot (marker file .kite-sysroot-done listing the packages) is
# left alone; rerun with KITE_SYSROOT_FORCE=1 to rebuild it.
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
)

marker="$sysroot/.kite-sysroot-done"
if [ "${KITE_SYSROOT_FORCE:-0}" != "1" ] && [ -f "$marker" ] &&
   [ "$(cat "$marker")" = "${packages[*]}" ]; then
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
(cd "$state/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" -q download "${packages[@]}" >/dev/null)

rm -rf "$sysroot"
mkdir -p "$sysroot"
for deb in "$state"/debs/*.deb; do
  dpkg-deb -x "$deb" "$sysroot"
done

# Debian's -dev packages link libfoo.so with absolute symlinks (/lib/<triple>/libfoo.so.N);
# inside a sysroot they must be relative to it.
find "$sysroot" -type l -lname '/*' | while read -r link; do
  target=$(readlink "$link")
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")" "$link"
done

# glibc's linker scripts (libc.so, libm.so) name absolute paths; the linker resolves them
# inside --sysroot, so they stay as they are.
test -e "$sysroot/usr/lib/$triple/libc.so" || { echo "make-sysroot: no libc.so in $sysroot" >&2; exit 1; }
test -e "$sysroot/usr/lib/$triple/libXNNPACK.so" || { echo "make-sysroot: no XNNPACK in $sysroot" >&2; exit 1; }

echo "${packages[*]}" > "$marker"
echo "make-sysroot: $sysroot ready ($(du -sh "$sysroot" | cut -f1))"
