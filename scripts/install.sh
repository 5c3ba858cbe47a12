#!/usr/bin/env bash
# Installs a released launchgate binary in seconds: downloads the tarball for
# this OS and CPU and the release's SHA256SUMS, verifies the checksum (and,
# with --sha256, that it is the one you pinned), and puts `launchgate` in DIR.
#
#   scripts/install.sh [--version X.Y.Z] [--to DIR] [--repo OWNER/NAME]
#                      [--base-url URL] [--sha256 HEX]
#
# Defaults: the version and repository in the Cargo.toml beside this script
# (so a vendored launchgate installs exactly its own release), DIR
# `.launchgate/bin`, base URL https://github.com/REPO/releases/download/vVERSION.
# A binary of that version already in DIR (a CI cache) is kept, unless --sha256
# asks for the download to be verified.
# Needs bash, curl or wget, tar, and sha256sum or shasum. Prints the path of
# the installed binary last. Nothing is installed unless the checksum matches.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$here/../Cargo.toml"

die() {
  echo "launchgate install: $*" >&2
  exit 1
}

# The first `key = "value"` of the [package] table.
manifest_field() {
  [ -f "$manifest" ] || return 0
  sed -n "s/^$1 = \"\\(.*\\)\"$/\\1/p" "$manifest" | head -n 1
}

version="" to=".launchgate/bin" repo="" base_url="" pinned_sha=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="${2:?--version needs a value}"; shift 2 ;;
    --to) to="${2:?--to needs a directory}"; shift 2 ;;
    --repo) repo="${2:?--repo needs OWNER/NAME}"; shift 2 ;;
    --base-url) base_url="${2:?--base-url needs a URL}"; shift 2 ;;
    --sha256) pinned_sha="${2:?--sha256 needs a checksum}"; shift 2 ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

version="${version#v}"
[ -n "$version" ] || version="$(manifest_field version)"
[ -n "$version" ] || die "no --version given and no Cargo.toml beside this script"
if [ -z "$repo" ]; then
  repo="$(manifest_field repository)"
  repo="${repo#https://github.com/}"
fi
[ -n "$base_url" ] || base_url="https://github.com/${repo:?no --repo given}/releases/download/v$version"
base_url="${base_url%/}"

# Plain HTTP only to this machine (a local mirror or a test); anything else is HTTPS.
case "$base_url" in
  https://*) ;;
  http://127.0.0.1[:/]* | http://localhost[:/]* | http://\[::1\][:/]*) ;;
  *) die "refusing to download over plain HTTP from $base_url" ;;
esac

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64 | Linux-amd64) triple=x86_64-unknown-linux-gnu ;;
  Linux-aarch64 | Linux-arm64) triple=aarch64-unknown-linux-gnu ;;
  Darwin-x86_64) triple=x86_64-apple-darwin ;;
  Darwin-arm64 | Darwin-aarch64) triple=aarch64-apple-darwin ;;
  *) die "no release binary for $(uname -s) $(uname -m); build it with: cargo install --locked launchgate" ;;
esac
name="launchgate-v$version-$triple"
tarball="$name.tar.gz"

# Already there (a CI cache): nothing to download.
if [ -x "$to/launchgate" ] && [ "$("$to/launchgate" --version 2>/dev/null)" = "launchgate $version" ] && [ -z "$pinned_sha" ]; then
  echo "launchgate install: launchgate $version already in $to" >&2
  cd "$to" && pwd -P | sed 's|$|/launchgate|'
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --connect-timeout 20 \
      --max-time 300 --output "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 --timeout=60 --output-document="$2" "$1"
  else
    die "needs curl or wget"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    die "needs sha256sum or shasum to verify the download"
  fi
}

fetch "$base_url/$tarball" "$tmp/$tarball" || die "cannot download $base_url/$tarball (is v$version released for $triple?)"
fetch "$base_url/SHA256SUMS" "$tmp/SHA256SUMS" || die "cannot download $base_url/SHA256SUMS"

expected="$(awk -v f="$tarball" '$2 == f || $2 == "*" f { print $1 }' "$tmp/SHA256SUMS" | head -n 1)"
[ -n "$expected" ] || die "SHA256SUMS of v$version lists no $tarball"
actual="$(sha256_of "$tmp/$tarball")"
[ "$actual" = "$expected" ] || die "checksum mismatch for $tarball: SHA256SUMS says $expected, the download is $actual"
if [ -n "$pinned_sha" ] && [ "$actual" != "$pinned_sha" ]; then
  die "checksum mismatch for $tarball: pinned $pinned_sha, the download is $actual"
fi

tar -xzf "$tmp/$tarball" -C "$tmp"
[ -f "$tmp/$name/launchgate" ] || die "$tarball holds no $name/launchgate"
mkdir -p "$to"
install -m 755 "$tmp/$name/launchgate" "$to/launchgate.partial"
mv -f "$to/launchgate.partial" "$to/launchgate"
got="$("$to/launchgate" --version)" || die "the installed binary does not run on this machine"
[ "$got" = "launchgate $version" ] || die "installed binary says '$got', expected launchgate $version"
echo "launchgate install: $got ($triple, sha256 $actual)" >&2
cd "$to" && pwd -P | sed 's|$|/launchgate|'
