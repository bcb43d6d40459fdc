#!/usr/bin/env bash
# Instructions per revoke, counted by valgrind's callgrind (not moved by the
# machine's load), client and server together, release build: the
# difference of a run of LARGE revokes and one of SMALL, so set-up does not
# count. Each argument is MODE:VARIANT[:h2c], as for `S2_BENCH_COUNT` in
# benches/revoke.rs (modes `call`, `each`, `bulk`; variants `raw`,
# `generated`, `wrapper`).
#
#   scripts/callgrind.sh bulk:raw bulk:wrapper call:raw call:wrapper
#
# SMALL (default 1000) and LARGE (6000) set the sizes; KEEP=DIR keeps the
# callgrind files there, for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
small=${SMALL:-1000}
large=${LARGE:-6000}
out=${KEEP:-$(mktemp -d)}
mkdir -p "$out"

# The bench's own executable (the build also reports s2-revoke's).
bench=$(cargo bench --features cli --bench revoke --no-run --message-format=json 2>/dev/null |
    grep '"kind":\["bench"\]' |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$bench" ] || { echo "no bench executable" >&2; exit 2; }

count() { # mode:variant[:h2c] n -> instructions
    local mode=${1%%:*} rest=${1#*:} file
    local variant=${rest%%:*} proto=
    [ "$rest" != "$variant" ] && proto=":${rest#*:}"
    file="$out/${1//:/-}-$2.out"
    S2_BENCH_ONLY=count S2_BENCH_COUNT="$mode:$variant:$2$proto" \
        valgrind --tool=callgrind --callgrind-out-file="$file" "$bench" --bench \
        >"$file.log" 2>&1 || { echo "$1 $2 failed: see $file.log" >&2; return 1; }
    sed -n 's/^summary: *//p' "$file"
}

for spec in "$@"; do
    a=$(count "$spec" "$small") || exit 1
    b=$(count "$spec" "$large") || exit 1
    awk -v s="$spec" -v a="$a" -v b="$b" -v n=$((large - small)) \
        'BEGIN { printf "%-22s %7.1fk instructions per revoke\n", s, (b - a) / n / 1000 }'
done
