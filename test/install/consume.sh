#!/usr/bin/env bash
# The `install_consume` test: installs the build into a temporary prefix, then builds
# consumer/main.c outside the tree three ways -- find_package(Kite) (shared), find_package
# with KITE_USE_STATIC_LIBS=ON, and cc $(pkg-config --cflags --libs kite) -- runs each on
# MODEL and checks they print the same 8 tokens. Also checks the installed files, the
# SONAME, and that libkite.so exports only kite_* symbols.
#
# Usage: consume.sh BUILD_DIR MODEL.kite [LIBDIR]   (LIBDIR: CMAKE_INSTALL_LIBDIR, default lib)
set -euo pipefail
build=$1
model=$2
lib=${3:-lib}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "install_consume: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  fail "cmake --install failed: $(cat "$tmp/install.log")"
for f in include/kite/kite.h $lib/libkite.a $lib/libkite.so $lib/libkite.so.0 $lib/libkite.so.0.1.0 \
         $lib/cmake/Kite/KiteConfig.cmake $lib/cmake/Kite/KiteConfigVersion.cmake \
         $lib/pkgconfig/kite.pc; do
  [ -e "$prefix/$f" ] || fail "cmake --install did not install $f"
done
for tool in kite-convert kite-generate kite-chat kite-bench kite-eval kite-inspect kite-tokenize; do
  [ -x "$prefix/bin/$tool" ] || fail "cmake --install did not install bin/$tool"
done
soname=$(readelf -d "$prefix/$lib/libkite.so.0.1.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libkite.so.0 ] || fail "libkite.so.0.1.0 has SONAME '$soname', not libkite.so.0"
others=$(nm -D --defined-only "$prefix/$lib/libkite.so" | awk '{print $NF}' | grep -v '^kite_' || true)
[ -z "$others" ] || fail "libkite.so exports symbols outside the C API: $(echo $others | head -c 400)"

export CCACHE_DISABLE=1
# quiet STEP COMMAND...: runs the command, printing its output only when it fails.
quiet() {
  local step=$1
  shift
  "$@" >"$tmp/step.log" 2>&1 || fail "$step failed: $(cat "$tmp/step.log")"
}
quiet "configuring the find_package consumer" \
  cmake -S "$here/consumer" -B "$tmp/shared" -G Ninja -DCMAKE_PREFIX_PATH="$prefix"
quiet "building the find_package consumer" cmake --build "$tmp/shared"
quiet "configuring the static find_package consumer" \
  cmake -S "$here/consumer" -B "$tmp/static" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DKITE_USE_STATIC_LIBS=ON
quiet "building the static find_package consumer" cmake --build "$tmp/static"
export PKG_CONFIG_PATH=$prefix/$lib/pkgconfig
# shellcheck disable=SC2046  # the flags are meant to split
cc -o "$tmp/pc-consumer" "$here/consumer/main.c" $(pkg-config --cflags --libs kite)

# Outputs are captured before grep: with pipefail, `grep -q` closing the pipe early would
# fail the producer with SIGPIPE.
dynamic=$(readelf -d "$tmp/static/kite-consumer")
case $dynamic in *libkite*) fail "the KITE_USE_STATIC_LIBS=ON consumer needs libkite.so" ;; esac
export LD_LIBRARY_PATH=$prefix/$lib
loaded=$(ldd "$tmp/shared/kite-consumer")
case $loaded in
  *"$prefix/$lib/libkite.so.0"*) ;;
  *) fail "the find_package consumer does not load the installed libkite.so.0: $loaded" ;;
esac

want=""
for exe in "$tmp/shared/kite-consumer" "$tmp/static/kite-consumer" "$tmp/pc-consumer"; do
  out=$("$exe" "$model" 2>"$tmp/text") || fail "$exe failed: $(cat "$tmp/text")"
  echo "$exe: $out$(tr '\n' ' ' <"$tmp/text")"
  n=$(echo "$out" | sed 's/.*tokens://' | wc -w)
  [ "$n" -eq 8 ] || fail "$exe printed $n tokens, not 8: $out"
  [ -z "$want" ] && want=$out
  [ "$out" = "$want" ] || fail "$exe printed '$out', the first consumer '$want'"
done
echo "install_consume: OK"
