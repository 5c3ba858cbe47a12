#!/usr/bin/env bash
# Runs Hurl with the bench's variables: the static ones from a variables file (base
# URL, keys, fixtures), the clock-dependent ones (today_*, epoch_*) computed now, at
# every run. (Computed once per benchmark they went stale: after about two minutes
# the rate-limit-headers case's `X-RateLimit-Reset <= epoch_p125` check failed.)
#
#   bench/hurl/run-hurl.sh VARIABLES_FILE [hurl arguments...]
set -euo pipefail
vars_file="$1"
shift
dynamic=()
for d in -30 -7 -1 0 1 7 14 30; do
  s=$([ "$d" -lt 0 ] && echo "m${d#-}" || echo "p$d")
  dynamic+=(--variable "today_$s=$(date -u -d "$d days" +%F)")
done
now=$(date +%s)
for e in -5 0 60 125; do
  s=$([ "$e" -lt 0 ] && echo "m${e#-}" || echo "p$e")
  dynamic+=(--variable "epoch_$s=$((now + e))")
done
exec hurl --variables-file "$vars_file" "${dynamic[@]}" "$@"
