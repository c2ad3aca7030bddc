#!/usr/bin/env bash
# Installs what Offramp needs to build and test on a fresh Debian 12 machine (only what is
# missing). Run as root or with sudo available.
set -euo pipefail
packages=(build-essential cmake pkg-config git python3 python3-pip
  libeigen3-dev libopenblas-dev libopenblas0-openmp libutf8proc-dev libsentencepiece-dev sentencepiece libpcre2-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev
  libtorch-dev gnuplot-nox libdnnl-dev clang libomp-dev
  libcpp-httplib-dev prometheus-cpp-dev wrk python3-venv libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
