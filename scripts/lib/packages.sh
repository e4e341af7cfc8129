# Installs the Debian packages Tapedeck's scripts need, when any is missing.
# Usage: . scripts/lib/packages.sh; ensure_packages libpcap-dev tshark ...
ensure_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building and testing Tapedeck needs (chromium: the report pages are
# checked in a headless browser).
TAPEDECK_BUILD_PACKAGES=(libpcap-dev libpcre2-dev zlib1g-dev libzstd-dev libxxhash-dev pkg-config)
TAPEDECK_TEST_PACKAGES=(tshark tcpdump xxhash redis-server redis-tools netcat-openbsd python3-venv zstd postgresql postgresql-client curl openssl chromium fonts-dejavu-core)
