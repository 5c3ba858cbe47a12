#!/usr/bin/env bash
# Builds launchgate's release artifacts into target/distrib/:
#   launchgate-vVERSION-TRIPLE.tar.gz   the binary, README.md, LICENSE-MIT, LICENSE-APACHE
#   launchgate_VERSION-1_ARCH.deb       Linux only (cargo-deb, installed pinned when missing)
#   SHA256SUMS                          of every artifact in target/distrib/
#
#   scripts/package.sh [--target TRIPLE] [--binary PATH] [--no-deb] [--out DIR]
#
# The binary is built with `cargo build --locked --profile dist` (see Cargo.toml)
# unless --binary gives one to package as it is (then no .deb is made).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0

die() {
  echo "package: $*" >&2
  exit 1
}

target="" binary="" deb=auto out="target/distrib"
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="${2:?--target needs a triple}"; shift 2 ;;
    --binary) binary="${2:?--binary needs a path}"; deb=no; shift 2 ;;
    --no-deb) deb=no; shift ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
host="$(rustc -vV | sed -n 's/^host: //p')"
triple="${target:-$host}"

if [ -z "$binary" ]; then
  target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
  cargo build --locked --profile dist ${target:+--target "$target"}
  binary="$target_dir/${target:+$target/}dist/launchgate"
fi
[ -x "$binary" ] || die "no binary at $binary"

# A tarball that is the same for the same inputs: sorted, owned by root, dated
# at the last commit (GNU tar; other tars make a plain one).
name="launchgate-v$version-$triple"
mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
install -m 755 "$binary" "$stage/$name/launchgate"
install -m 644 README.md LICENSE-MIT LICENSE-APACHE "$stage/$name/"
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  epoch="$(git log -1 --format=%ct 2>/dev/null || date +%s)"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    -C "$stage" -cf - "$name" | gzip -n >"$out/$name.tar.gz"
else
  tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
fi
echo "package: $out/$name.tar.gz"

if [ "$deb" = auto ] && [[ "$triple" == *-linux-* ]]; then
  cargo_deb="$(command -v cargo-deb || true)"
  if [ -z "$cargo_deb" ] || ! "$cargo_deb" --version | grep -q "$CARGO_DEB_VERSION"; then
    cargo install --locked cargo-deb --version "$CARGO_DEB_VERSION" --root "$target_dir/tools"
    cargo_deb="$target_dir/tools/bin/cargo-deb"
  fi
  "$cargo_deb" deb --no-build --no-strip --profile dist ${target:+--target "$target"} --output "$out"
fi

(
  cd "$out"
  shopt -s nullglob
  files=(launchgate-v*.tar.gz launchgate_*.deb)
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum -- "${files[@]}" >SHA256SUMS
  else
    shasum -a 256 -- "${files[@]}" >SHA256SUMS
  fi
)
echo "package: $out/SHA256SUMS"
