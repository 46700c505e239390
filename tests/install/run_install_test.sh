#!/usr/bin/env bash
# Installs HARL from BUILD_DIR into a scratch prefix, builds an outside project that uses it
# through find_package(HARL) and add_halide_library(... AUTOSCHEDULER HARL::harl_autosched),
# and runs that project's check.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" > /dev/null
cmake -S "$src_dir/project" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" ||
    { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" -j2 > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
grep -q "pipeline.get_func" "$work/build/tiny_schedule.schedule.h" 2>/dev/null ||
    grep -rq "pipeline.get_func" "$work/build" --include='*.schedule.h' ||
    { echo "no HARL schedule emitted"; exit 1; }
"$work/build/tiny_check"
