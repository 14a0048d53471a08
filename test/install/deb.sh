#!/usr/bin/env bash
# The `deb_package` test: `cpack -G DEB` on the build into a temporary folder, then checks
# the package's control fields (name, version, architecture, dependencies) and that it holds
# the library, header, CMake package, kite.pc and, when built, the tools. Not installed.
#
# Usage: deb.sh BUILD_DIR ARCH VERSION LIBDIR [TOOL...]   (ARCH: the Debian architecture)
set -euo pipefail
build=$1 arch=$2 version=$3 lib=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "deb_package: $*" >&2; exit 1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp" >"$tmp/cpack.log" 2>&1 ||
  fail "cpack failed: $(cat "$tmp/cpack.log")"
deb=$tmp/kite_${version}_$arch.deb
[ -f "$deb" ] || fail "cpack did not write $(basename "$deb"): $(ls "$tmp")"
dpkg-deb -I "$deb"
for field in Package:kite "Version:$version" "Architecture:$arch"; do
  got=$(dpkg-deb -f "$deb" "${field%%:*}")
  [ "$got" = "${field#*:}" ] || fail "${field%%:*} is '$got', not '${field#*:}'"
done
depends=$(dpkg-deb -f "$deb" Depends)
case $depends in *libc6*) ;; *) fail "Depends ('$depends') lacks libc6" ;; esac
dpkg-deb -c "$deb" | awk '{print $NF}' >"$tmp/files"
for f in usr/include/kite/kite.h "usr/$lib/libkite.so.0.1.0" "usr/$lib/libkite.a" \
         "usr/$lib/cmake/Kite/KiteConfig.cmake" "usr/$lib/pkgconfig/kite.pc" "$@"; do
  grep -qx "\./$f" "$tmp/files" || fail "the package lacks /$f"
done
echo "deb_package: OK ($(basename "$deb"))"
