# scripts/gpu-env.sh: make the carried Debian packages usable on the GPU machine. SOURCE it:
#     source scripts/gpu-env.sh
# scripts/gpu-check.sh does this first; any shell may do it too (bash).
#
# It unpacks every .deb in .cache/gpu-debs (made by scripts/gpu-deps.sh on a Debian 12 machine
# and carried there with run(..., carry=[".cache/gpu-debs", ...])) into .cache/gpu-prefix,
# never into /, with dpkg-deb -x, or ar + tar where the image has no dpkg-deb. Then it
#   - points absolute symbolic links (/usr/...) into the prefix,
#   - rewrites the .pc files' /usr paths (prefix=/usr, libdir=/usr/..., -I/usr/...) to the prefix,
#   - drops the carried libgfortran.so.5/libquadmath.so.0 (OpenBLAS's runtime needs) where the
#     image has its own, so an older copy never shadows the system's,
# and exports CMAKE_PREFIX_PATH, PKG_CONFIG_PATH, CPATH, LIBRARY_PATH, LD_LIBRARY_PATH and PATH
# (pkgconf's pkg-config), plus:
#   OFFRAMP_GPU_PREFIX              the prefix
#   OFFRAMP_GPU_ORIG_LD_LIBRARY_PATH  LD_LIBRARY_PATH as it was (for programs that should not
#                                   see the carried libraries, such as python3 with torch)
#   OFFRAMP_GPU_CMAKE_ARGS          (a bash array) cache entries for cmake: the OpenMP OpenBLAS
#                                   (the root CMakeLists.txt looks for it in /usr only),
#                                   pkg-config, and the prefix as build RPATH
# Unpacking happens once: a stamp (the .debs' names and sizes, the prefix path) skips it on the
# next source until the .debs change.
#
# Environment: OFFRAMP_GPU_DEBS (default .cache/gpu-debs) and OFFRAMP_GPU_PREFIX (default
# .cache/gpu-prefix) move either folder, e.g. to try the packages out in /tmp.

_offramp_gpu_env() {
  local root debs prefix usr lib stamp_new deb tmp data link target soname ldcache f
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return 1
  debs=${OFFRAMP_GPU_DEBS:-$root/.cache/gpu-debs}
  prefix=${OFFRAMP_GPU_PREFIX:-$root/.cache/gpu-prefix}

  if ! compgen -G "$debs/*.deb" >/dev/null; then
    echo "gpu-env: no .debs in $debs: run scripts/gpu-deps.sh on a Debian 12 machine first," \
         "then carry them: run(command=\"scripts/gpu-check.sh\", carry=[\".cache/gpu-debs\", \".cache/gpu-model\"])" >&2
    return 1
  fi
  mkdir -p "$(dirname "$prefix")" && prefix=$(cd "$(dirname "$prefix")" && pwd)/$(basename "$prefix")
  usr=$prefix/usr
  lib=$usr/lib/x86_64-linux-gnu

  stamp_new=$(printf 'prefix %s\n' "$prefix"; cd "$debs" && for f in *.deb; do printf '%s %s\n' "$f" "$(stat -c %s "$f")"; done)
  if [[ ! -f "$prefix/.offramp-stamp" || "$(cat "$prefix/.offramp-stamp")" != "$stamp_new" ]]; then
    echo "gpu-env: unpacking $(ls "$debs"/*.deb | wc -l) packages from $debs into $prefix"
    rm -rf "$prefix"
    mkdir -p "$prefix"
    for deb in "$debs"/*.deb; do
      if command -v dpkg-deb >/dev/null; then
        dpkg-deb -x "$deb" "$prefix" || return 1
      else
        # A .deb is an ar archive: debian-binary, control.tar.*, data.tar.{xz,zst,gz}.
        tmp=$(mktemp -d) || return 1
        if command -v ar >/dev/null; then
          (cd "$tmp" && ar x "$deb") || { rm -rf "$tmp"; return 1; }
        else
          python3 - "$deb" "$tmp" <<'PY' || { rm -rf "$tmp"; return 1; }
import os, sys
deb, out = sys.argv[1], sys.argv[2]
with open(deb, "rb") as f:
    assert f.read(8) == b"!<arch>\n", "not an ar archive: " + deb
    while True:
        h = f.read(60)
        if len(h) < 60:
            break
        name, size = h[:16].decode().strip().rstrip("/"), int(h[48:58])
        data = f.read(size)
        if size % 2:
            f.read(1)
        with open(os.path.join(out, name), "wb") as o:
            o.write(data)
PY
        fi
        data=$(ls "$tmp"/data.tar* 2>/dev/null | head -1)
        if [[ -z "$data" ]]; then echo "gpu-env: no data.tar in $deb" >&2; rm -rf "$tmp"; return 1; fi
        case "$data" in
          *.zst) zstd -dc "$data" | tar -x -C "$prefix" ;;
          *) tar -xf "$data" -C "$prefix" ;;   # GNU tar recognises xz, gz, bz2 itself
        esac || { echo "gpu-env: could not unpack $deb" >&2; rm -rf "$tmp"; return 1; }
        rm -rf "$tmp"
      fi
    done

    # Absolute links (/usr/lib/...) would leave the prefix: point them inside it.
    while IFS= read -r -d '' link; do
      target=$(readlink "$link")
      ln -sfn "$prefix$target" "$link"
    done < <(find "$prefix" -type l -lname '/*' -print0)

    # pkg-config files say prefix=/usr, libdir=/usr/..., -I/usr/include: move them into the prefix.
    while IFS= read -r -d '' f; do
      sed -i -E \
        -e "s#^([A-Za-z_][A-Za-z0-9_.]*=)/usr(/|\$)#\\1$usr\\2#" \
        -e "s#(-[IL])/usr(/|[[:space:]]|\$)#\\1$usr\\2#g" "$f"
    done < <(find "$prefix" -name '*.pc' -print0)

    # Runtime libraries carried only for images that lack them.
    ldcache=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null || true)
    for soname in libgfortran.so.5 libquadmath.so.0; do
      if grep -q "[[:space:]]${soname}[[:space:]]" <<<"$ldcache"; then
        rm -f "$lib/$soname" "$lib/${soname}".*
      else
        echo "gpu-env: the system has no $soname: using the carried one"
      fi
    done
    if ! grep -q '[[:space:]]libgomp.so.1[[:space:]]' <<<"$ldcache"; then
      echo "gpu-env: warning: the system has no libgomp.so.1 (g++'s OpenMP runtime), which OpenBLAS needs" >&2
    fi
    printf '%s\n' "$stamp_new" > "$prefix/.offramp-stamp"
  fi

  # Sourcing twice must not stack the paths: remember the environment from before the first time.
  if [[ "${OFFRAMP_GPU_PREFIX:-}" != "$prefix" || -z "${OFFRAMP_GPU_ENV_DONE:-}" ]]; then
    export OFFRAMP_GPU_ORIG_LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
  fi
  local orig_ld=$OFFRAMP_GPU_ORIG_LD_LIBRARY_PATH
  export OFFRAMP_GPU_PREFIX=$prefix OFFRAMP_GPU_ENV_DONE=1
  _offramp_strip() {  # $1 = a :-list: drop entries inside the prefix
    local out="" e
    local IFS=:
    for e in $1; do [[ -z "$e" || "$e" == "$prefix"/* ]] || out=${out:+$out:}$e; done
    printf '%s' "$out"
  }
  local cpp pcp cpath lp path
  cpp=$(_offramp_strip "${CMAKE_PREFIX_PATH:-}") pcp=$(_offramp_strip "${PKG_CONFIG_PATH:-}")
  cpath=$(_offramp_strip "${CPATH:-}") lp=$(_offramp_strip "${LIBRARY_PATH:-}")
  path=$(_offramp_strip "$PATH")
  unset -f _offramp_strip
  export CMAKE_PREFIX_PATH="$usr:$lib/cmake:$usr/share/cmake:$usr/share/eigen3/cmake${cpp:+:$cpp}"
  export PKG_CONFIG_PATH="$lib/openblas-openmp/pkgconfig:$lib/pkgconfig:$usr/share/pkgconfig${pcp:+:$pcp}"
  export CPATH="$usr/include:$usr/include/x86_64-linux-gnu/openblas-openmp${cpath:+:$cpath}"
  export LIBRARY_PATH="$lib:$lib/openblas-openmp${lp:+:$lp}"
  export LD_LIBRARY_PATH="$lib:$lib/openblas-openmp${orig_ld:+:$orig_ld}"
  export PATH="$usr/bin:$path"
  # shellcheck disable=SC2034  # read by scripts/gpu-check.sh
  OFFRAMP_GPU_CMAKE_ARGS=(
    "-DOFFRAMP_OPENBLAS_OPENMP=$lib/openblas-openmp/libopenblas.so.0"
    "-DPKG_CONFIG_EXECUTABLE=$usr/bin/pkg-config"
    # LIBRARY_PATH makes the prefix an implicit link folder, for which CMake writes no RPATH:
    # name it, so that the binaries also run without LD_LIBRARY_PATH.
    "-DCMAKE_BUILD_RPATH=$lib;$lib/openblas-openmp"
  )
  echo "gpu-env: prefix $prefix"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  echo "gpu-env.sh is meant to be sourced: source scripts/gpu-env.sh" >&2
  exit 64
fi
_offramp_gpu_env
_offramp_gpu_env_rc=$?
unset -f _offramp_gpu_env
if (( _offramp_gpu_env_rc != 0 )); then unset _offramp_gpu_env_rc; return 1; fi
unset _offramp_gpu_env_rc
