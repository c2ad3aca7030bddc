#!/usr/bin/env bash
# Installs the built package into a temporary prefix, builds examples/service against it
# with find_package(offramp), and runs it on a model.
# Usage: BUILD_DIR EXAMPLE_DIR MODEL_DIR [CXX_FLAGS]
set -euo pipefail
build=$1 example=$2 model=$3 flags=${4:-}
cmake=${CMAKE_COMMAND:-cmake}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cmake" --install "$build" --prefix "$work/prefix" > "$work/install.log"
"$cmake" -S "$example" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="$flags" > "$work/configure.log"
"$cmake" --build "$work/build" > "$work/build.log"
out=$(printf 'Tasty, but the bag arrived torn.\nThe best coffee I have ever had!\n' | "$work/build/offramp-service" "$model")
echo "$out"
# One JSON-ish line per text with a label and an exit layer.
[ "$(echo "$out" | grep -c 'exit_layer')" -eq 2 ]
# The installed CLI runs too (RPATH into the prefix).
"$work/prefix/bin/offramp" info "$model" | grep -q "exit heads"
echo "installed package OK"
