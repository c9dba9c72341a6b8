#!/usr/bin/env bash
# Installs Debian's Chromium, the headless browser the HTML report's tests
# drive (report's TestHTMLReport_Browser), at /usr/bin/chromium, with a
# Latin and a CJK font so that the test's screenshot shows the outputs.
# No test tool downloads a browser of its own: Debian's package only.
#
# Idempotent: nothing is done when /usr/bin/chromium runs and the fonts are
# there. As root it installs what is missing after an apt-get update; as
# another user it says the command to run. Every failure stops the script
# with a message and a non-zero status.
set -euo pipefail

bin=/usr/bin/chromium

die() { echo "install-chromium: $*" >&2; exit 1; }

# installed PKG succeeds when dpkg has PKG fully installed.
installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing=()
{ [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; } || missing+=(chromium)
if command -v dpkg-query >/dev/null; then
  for pkg in fonts-dejavu-core fonts-wqy-zenhei; do
    installed "$pkg" || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "$("$bin" --version 2>/dev/null) already installed at $bin"
  exit 0
fi

command -v apt-get >/dev/null || die "missing ${missing[*]}, and no apt-get: install Debian's chromium package (a Chromium at $bin) by hand"
if [ "$(id -u)" -ne 0 ]; then
  die "missing ${missing[*]}: run 'sudo apt-get update && sudo apt-get install -y ${missing[*]}', then again"
fi
echo "installing ${missing[*]}" >&2
apt-get update -qq || die "apt-get update failed"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
  die "apt-get install ${missing[*]} failed"
[ -x "$bin" ] || die "installed chromium but there is no $bin"
"$bin" --version >/dev/null 2>&1 || die "$bin does not run: $("$bin" --version 2>&1 | tail -1)"
echo "$("$bin" --version 2>/dev/null) installed at $bin"
