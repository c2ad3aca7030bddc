#!/usr/bin/env bash
# scripts/gpu-deps.sh: fetch the build dependencies that a bare CUDA image lacks, as Debian 12
# packages, for scripts/gpu-check.sh to unpack on the GPU machine.
#
# Run it HERE, on a Debian 12 (bookworm) machine with apt, from anywhere in the repository:
#     scripts/gpu-deps.sh            # idempotent: packages already fetched are kept
#     scripts/gpu-deps.sh --force    # fetch and trim everything again
#
# The GPU machine has CUDA, CMake, ninja, g++ and python3 with torch, but no apt and no
# network. So the libraries that the root CMakeLists.txt, tests/ and bench/ look for (Eigen3,
# nlohmann_json, CLI11, OpenBLAS (OpenMP build) through pkg-config, utf8proc, sentencepiece,
# GoogleTest, Google Benchmark, and pkgconf itself) travel along with the working tree as .debs:
#
#   .cache/gpu-debs/   the trimmed .debs (what travels; .cache is git-ignored)
#   .cache/gpu-debs-orig/   the .debs as apt-get download fetched them (stays here)
#
# "Trimmed": each .deb is repacked (dpkg-deb -R, then -b with xz -9e) without what the build
# never reads: documentation, man pages, static libraries (OpenBLAS's is 58 MB), OpenBLAS's
# separate libblas.so.3/liblapack.so.3 (the project links libopenblas.so.0) and the
# blas-/lapack-openblas.pc files. Everything must fit, with the ~25 MB working tree and the
# model, under the device tool's 64 MiB carry limit; the total is printed at the end.
# oneDNN and LibTorch are optional and not carried (gpu-check.sh configures with
# OFFRAMP_WITH_DNNL=OFF OFFRAMP_WITH_TORCH=OFF); OpenMP is g++'s own libgomp, present with g++.
#
# On the GPU machine, through the device tool (scripts/gpu-env.sh unpacks the .debs there into
# .cache/gpu-prefix, never into /):
#     run(command="scripts/gpu-check.sh", carry=[".cache/gpu-debs", ".cache/gpu-model"])
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEBS="$ROOT/.cache/gpu-debs"
ORIG="$ROOT/.cache/gpu-debs-orig"
ARCH_DIR=usr/lib/x86_64-linux-gnu

force=0
case "${1:-}" in
  --force) force=1 ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 64 ;;
esac

# Package -> files to leave out (paths relative to the package root; globs allowed).
# Documentation, man pages and lintian overrides go from every package.
declare -A TRIM=(
  [libeigen3-dev]=""
  [nlohmann-json3-dev]=""
  [libcli11-dev]=""
  # openblas.pc + cblas.h/openblas_config.h + the libopenblas.so link; not the 58 MB static lib.
  [libopenblas-openmp-dev]="$ARCH_DIR/openblas-openmp/*.a $ARCH_DIR/openblas-openmp/libblas.so $ARCH_DIR/openblas-openmp/liblapack.so $ARCH_DIR/openblas-openmp/pkgconfig/blas-openblas.pc $ARCH_DIR/openblas-openmp/pkgconfig/lapack-openblas.pc"
  # libopenblas.so.0 (the OpenMP build, with LAPACK inside); not the BLAS/LAPACK alternatives.
  [libopenblas0-openmp]="$ARCH_DIR/openblas-openmp/libblas.so.3 $ARCH_DIR/openblas-openmp/liblapack.so.3"
  # libopenblas0-openmp needs libgfortran.so.5 (and it libquadmath.so.0); gpu-env.sh uses these
  # only where the GPU image has none of its own.
  [libgfortran5]=""
  [libquadmath0]=""
  [libutf8proc-dev]="$ARCH_DIR/libutf8proc.a"
  [libutf8proc2]=""
  # sentencepiece.pc links libsentencepiece_train too, so both libraries stay.
  [libsentencepiece-dev]=""
  [libsentencepiece0]=""
  # PCRE2 for the byte-level BPE pre-tokenizer: the 8-bit library is the one linked.
  [libpcre2-dev]=""
  [libpcre2-8-0]=""
  # Static libgtest.a/libgtest_main.a + GTestConfig.cmake; not its sources (package googletest).
  [libgtest-dev]="usr/src"
  [libbenchmark-dev]=""
  [libbenchmark1debian]=""
  # pkg-config (-> pkgconf) for pkg_check_modules, in case the image has none.
  [pkgconf]="usr/share/aclocal"
  [pkgconf-bin]=""
  [libpkgconf3]=""
)
PKGS=(libeigen3-dev nlohmann-json3-dev libcli11-dev libopenblas-openmp-dev libopenblas0-openmp
      libgfortran5 libquadmath0 libutf8proc-dev libutf8proc2 libsentencepiece-dev libsentencepiece0 libpcre2-dev libpcre2-8-0
      libgtest-dev libbenchmark-dev libbenchmark1debian pkgconf pkgconf-bin libpkgconf3)

for tool in apt-get apt-cache dpkg-deb; do
  command -v $tool >/dev/null || { echo "gpu-deps: $tool not found: run this on a Debian 12 machine" >&2; exit 1; }
done
. /etc/os-release 2>/dev/null || true
if [[ "${VERSION_CODENAME:-}" != bookworm ]]; then
  echo "gpu-deps: warning: this is ${PRETTY_NAME:-an unknown system}, not Debian 12 (bookworm);" \
       "newer packages may need a newer glibc than the GPU image has" >&2
fi

mkdir -p "$DEBS" "$ORIG"
if (( force )); then rm -f "$DEBS"/*.deb "$ORIG"/*.deb; fi

# The package lists: apt-cache knows nothing before the first apt-get update.
if ! apt-cache show "${PKGS[0]}" >/dev/null 2>&1; then
  echo "gpu-deps: apt-get update"
  apt-get update
fi

# apt-get download as root drops to the _apt user, which cannot write here: stay root then.
apt_opts=()
if [[ $(id -u) == 0 ]]; then apt_opts=(-o APT::Sandbox::User=root); fi

missing=()
for p in "${PKGS[@]}"; do
  compgen -G "$ORIG/${p}_*.deb" >/dev/null || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "gpu-deps: apt-get download ${missing[*]}"
  (cd "$ORIG" && apt-get "${apt_opts[@]}" download "${missing[@]}")
fi

# Repack without the trimmed files. The output keeps the original file name.
trim_deb() {
  local pkg=$1 in=$2 out=$3 tmp pat f
  tmp=$(mktemp -d)
  dpkg-deb -R "$in" "$tmp/p"
  rm -rf "$tmp/p/usr/share/doc" "$tmp/p/usr/share/man" "$tmp/p/usr/share/lintian"
  for pat in ${TRIM[$pkg]}; do
    for f in "$tmp/p"/$pat; do rm -rf "$f"; done
  done
  # (Links that dangle inside one package, such as pkgconf's pkg-config -> pkgconf from
  # pkgconf-bin, stay: the links a trim breaks are named in TRIM.)
  find "$tmp/p" -mindepth 1 -type d -empty ! -path "$tmp/p/DEBIAN*" -delete
  # md5sums must list only what is left.
  if [[ -f "$tmp/p/DEBIAN/md5sums" ]]; then
    (cd "$tmp/p" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
       xargs -r md5sum > DEBIAN/md5sums)
  fi
  rm -f "$tmp/p/DEBIAN/conffiles"
  dpkg-deb --root-owner-group -Zxz -z9 -Sextreme -b "$tmp/p" "$out.part" >/dev/null
  mv "$out.part" "$out"
  rm -rf "$tmp"
}

wanted=()
for p in "${PKGS[@]}"; do
  in=$(ls "$ORIG/${p}"_*.deb | sort -V | tail -1)
  name=$(basename "$in")
  wanted+=("$name")
  if [[ -f "$DEBS/$name" ]]; then continue; fi
  rm -f "$DEBS/${p}"_*.deb
  echo "gpu-deps: trimming $name"
  trim_deb "$p" "$in" "$DEBS/$name"
done
# Anything else in .cache/gpu-debs (an older version, a dropped package) would travel too.
for f in "$DEBS"/*; do
  name=$(basename "$f")
  if [[ ! " ${wanted[*]} " == *" $name "* ]]; then echo "gpu-deps: removing stale $name"; rm -rf "$f"; fi
done

echo
echo "gpu-deps: $DEBS"
total=0
for name in "${wanted[@]}"; do
  size=$(stat -c %s "$DEBS/$name")
  osize=$(stat -c %s "$ORIG/$name")
  total=$((total + size))
  printf '  %-55s %9d bytes  (apt: %9d)\n' "$name" "$size" "$osize"
done
printf 'gpu-deps: total %d bytes (%.2f MiB) in %d packages\n' "$total" "$(echo "$total/1048576" | bc -l)" "${#wanted[@]}"
