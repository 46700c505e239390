#!/usr/bin/env bash
# Installs HARL's build and test dependencies from Debian 12's archive (run as root).
# Idempotent: packages already present are skipped, so `make` can call it every time.
set -euo pipefail

PACKAGES=(
  build-essential cmake ccache pkg-config
  libhalide14-0-dev
  libtorch-dev
  libboost-program-options-dev
  libgtest-dev googletest
  libsqlite3-dev sqlite3
  libdnnl-dev
  g++-aarch64-linux-gnu qemu-user
  clang-format python3 python3-matplotlib
  pocl-opencl-icd ocl-icd-libopencl1
)

missing=()
for p in "${PACKAGES[@]}"; do
  case "$p" in *-) continue ;; esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install_deps: missing packages: ${missing[*]}" >&2
  echo "install_deps: run 'sudo make deps' (or install them with apt-get) and retry." >&2
  exit 1
fi

echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
