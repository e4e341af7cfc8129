# Builds the tapedeck binary that Tapedeck's benchmark, soak and sample
# scripts measure. Usage: . scripts/lib/build.sh; release_tapedeck BIN SCRATCH

# Sets $tapedeck to the executable BIN ($1) when one is given, else builds the
# tapedeck product in release mode in scratch path SCRATCH ($2; SwiftPM's
# default when empty) and sets it to that binary. The build's output shows
# only when it fails. Returns 2 (a setup error) after saying what went wrong.
release_tapedeck() {
  local binary="$1" scratch=() build_log
  if [ -n "$binary" ]; then
    [ -x "$binary" ] || { echo "${0##*/}: $binary is not an executable" >&2; return 2; }
    tapedeck="$binary"
    return 0
  fi
  if [ -n "$2" ]; then
    scratch=(--scratch-path "$2")
    echo "==> building tapedeck (release, $2)" >&2
  else
    echo "==> building tapedeck (release)" >&2
  fi
  build_log=$(mktemp)
  if ! swift build -c release --product tapedeck "${scratch[@]}" >"$build_log" 2>&1; then
    cat "$build_log" >&2
    rm -f "$build_log"
    return 2
  fi
  rm -f "$build_log"
  tapedeck="$(swift build -c release "${scratch[@]}" --show-bin-path)/tapedeck"
}
