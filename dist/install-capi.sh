#!/usr/bin/env bash
# Builds the C API (crates/wd-capi) in release and installs it:
#
#   LIBDIR/libwarpdrive.so.MAJOR.MINOR.0   the shared library (SONAME libwarpdrive.so.MAJOR)
#   LIBDIR/libwarpdrive.so.MAJOR           -> the above (what the loader looks for)
#   LIBDIR/libwarpdrive.so                 -> the above (what -lwarpdrive finds)
#   LIBDIR/libwarpdrive.a                  the static library
#   INCLUDEDIR/warpdrive.h
#   LIBDIR/pkgconfig/warpdrive.pc
#
# MAJOR.MINOR is the ABI version of include/warpdrive.h. Settings, from the
# environment or as options: PREFIX (--prefix, default /usr/local), LIBDIR
# (--libdir, default PREFIX/lib), INCLUDEDIR (--includedir, default
# PREFIX/include), DESTDIR (--destdir: a staging root for packagers; the
# paths written into warpdrive.pc stay the final ones), KEEP_DEBUG=1 (do not
# strip the debug information the release profile keeps: about 40 MiB of
# the shared library).
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-}
INCLUDEDIR=${INCLUDEDIR:-}
DESTDIR=${DESTDIR:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    --libdir) LIBDIR=$2; shift 2 ;;
    --includedir) INCLUDEDIR=$2; shift 2 ;;
    --destdir) DESTDIR=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "install-capi.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}

header=include/warpdrive.h
major=$(sed -n 's/^#define WARPDRIVE_ABI_MAJOR \([0-9]*\)$/\1/p' "$header")
minor=$(sed -n 's/^#define WARPDRIVE_ABI_MINOR \([0-9]*\)$/\1/p' "$header")
[ -n "$major" ] && [ -n "$minor" ] || { echo "install-capi.sh: no ABI version in $header" >&2; exit 1; }
version="$major.$minor.0"

cargo build --release -p wd-capi
# The system libraries a static link needs, as rustc reports them (ISA-L
# appears when the zip device was built with it). Recompiles wd-capi
# alone, as a staticlib, to ask.
private=$(cargo rustc --release -p wd-capi --lib --crate-type staticlib -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | tail -n 1)
[ -n "$private" ] || { echo "install-capi.sh: rustc did not list the native libraries" >&2; exit 1; }

lib="$DESTDIR$LIBDIR"
install -d "$lib" "$lib/pkgconfig" "$DESTDIR$INCLUDEDIR"
install -m 0755 target/release/libwarpdrive_capi.so "$lib/libwarpdrive.so.$version"
ln -sfn "libwarpdrive.so.$version" "$lib/libwarpdrive.so.$major"
ln -sfn "libwarpdrive.so.$major" "$lib/libwarpdrive.so"
install -m 0644 target/release/libwarpdrive_capi.a "$lib/libwarpdrive.a"
install -m 0644 "$header" "$DESTDIR$INCLUDEDIR/warpdrive.h"
if [ "${KEEP_DEBUG:-0}" != 1 ] && command -v strip >/dev/null 2>&1; then
  strip --strip-debug "$lib/libwarpdrive.so.$version" "$lib/libwarpdrive.a"
fi
sed -e "s|@PREFIX@|$PREFIX|" -e "s|@LIBDIR@|$LIBDIR|" -e "s|@INCLUDEDIR@|$INCLUDEDIR|" \
    -e "s|@VERSION@|$version|" -e "s|@PRIVATE_LIBS@|$private|" \
    dist/warpdrive.pc.in > "$lib/pkgconfig/warpdrive.pc"

# A system library directory needs the loader's cache refreshed.
if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1; then
  ldconfig
fi
echo "installed libwarpdrive $version under $DESTDIR$PREFIX (pkg-config: $LIBDIR/pkgconfig)"
