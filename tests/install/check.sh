#!/usr/bin/env bash
# Troupe as a user gets it: docs/examples/notes configured from scratch
# against an installed Troupe, built, and driven by notes_example_test (built
# in Troupe's own tree) with NOTES_BIN set to the example binary.
#   check.sh prefix BUILD  installs BUILD into a fresh temporary prefix and
#                          builds the example with only CMAKE_PREFIX_PATH set
#   check.sh deb BUILD     installs BUILD's .deb (make deb) to /usr with apt-get
#                          and builds the example with no prefix path at all;
#                          the package is removed again afterwards unless it
#                          was installed before (KEEP_DEB=1 keeps it)
# Temporary folders are removed on exit, whatever the outcome.
set -euo pipefail
mode=${1:?usage: check.sh prefix|deb BUILD}
build=$(realpath "${2:?usage: check.sh prefix|deb BUILD}")
cd "$(dirname "$0")/../.."
example=$PWD/docs/examples/notes
test_bin=$build/bin/notes_example_test

[[ -f $example/main.cpp ]] || { echo "install-check: $example/main.cpp does not exist yet" >&2; exit 1; }
[[ -x $test_bin ]] || { echo "install-check: $test_bin missing; build Troupe with tests first" >&2; exit 1; }

tmp=$(mktemp -d /tmp/troupe-install-check-XXXXXX)
cleanup=("rm -rf $tmp")
trap 'for c in "${cleanup[@]}"; do eval "$c"; done' EXIT

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi

configure=(cmake -S "$example" -B "$tmp/notes-build" "${launcher[@]}")
case $mode in
  prefix)
    cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
    echo "install-check: installed into $tmp/prefix:"
    (cd "$tmp/prefix" && find . -type f | sed -E 's|/[^/]+$||' | sort | uniq -c)
    configure+=(-DCMAKE_PREFIX_PATH="$tmp/prefix")
    expected_dir=$tmp/prefix/lib/cmake/troupe
    ;;
  deb)
    debs=("$build"/troupe_*_*.deb)
    [[ -f ${debs[0]} && ${#debs[@]} -eq 1 ]] || { echo "deb-check: expected one troupe_*.deb in $build (make deb)" >&2; exit 1; }
    deb=${debs[0]}
    dpkg-deb -I "$deb"
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    if ! dpkg-query -W -f='${Status}' troupe 2>/dev/null | grep -q "install ok installed" && [[ ${KEEP_DEB:-0} != 1 ]]; then
      # This machine had no Troupe package: leave it so.
      cleanup+=("${sudo[*]} dpkg -r troupe >/dev/null")
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$deb"
    dpkg -L troupe | grep -E '/(bin/troupe|troupeConfig.cmake)$'
    expected_dir=/usr/lib/cmake/troupe
    ;;
  *) echo "check.sh: unknown mode $mode" >&2; exit 2 ;;
esac

"${configure[@]}" >"$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
# The example must have found the Troupe just installed (an older one in
# /usr/local, say, comes first in CMake's search).
found=$(sed -n 's/^troupe_DIR:PATH=//p' "$tmp/notes-build/CMakeCache.txt")
echo "install-check: the example found troupe in $found"
[[ $found == "$expected_dir" ]] || { echo "install-check: expected $expected_dir" >&2; exit 1; }
cmake --build "$tmp/notes-build" -j "${JOBS:-2}"
NOTES_BIN=$tmp/notes-build/notes "$test_bin"
