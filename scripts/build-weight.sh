#!/usr/bin/env bash
# What an application pays to build this crate, next to S2's SDK: a new
# application whose only dependencies are the client and tokio, calling
# revoke_access_token once, built with `cargo build --release` from a fresh
# target directory, one after the other, with the package cache warm.
#
#   scripts/build-weight.sh [--with-aws-lc-rs]
#
# --with-aws-lc-rs also builds the application on this crate with the
# `rustls-aws-lc-rs` feature instead of the default `rustls-ring`.
# Not run in CI: it builds every application from scratch (minutes).
# Every application uses this workspace's Cargo.lock, so both sides get the
# same versions of the crates they share.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/s2-build-weight.XXXXXX")"
trap 'rm -rf "$work"' EXIT
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR RUSTFLAGS CARGO_ENCODED_RUSTFLAGS RUSTC_WRAPPER
export CARGO_TERM_COLOR=never

# new_app NAME DEPENDENCY-LINE MAIN-BODY
new_app() {
    mkdir -p "$work/$1/src"
    cat > "$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
$2
tokio = { version = "1", features = ["macros", "rt"] }

[workspace]
TOML
    cat > "$work/$1/src/main.rs" <<RUST
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
$3
    Ok(())
}
RUST
    cp "$repo/Cargo.lock" "$work/$1/Cargo.lock"
    # Warm package cache: download (if needed) outside the timing.
    (cd "$work/$1" && cargo fetch --quiet)
}

ours_main='    let client = s2_openapi::Client::builder()
        .access_token("token")
        .endpoint("http://127.0.0.1:9")
        .build()?;
    let _ = client.revoke_access_token("some-token-id").await;'
sdk_main='    let endpoints = s2_sdk::types::S2Endpoints::new(
        "http://127.0.0.1:9".parse()?,
        "http://127.0.0.1:9".parse()?,
    )?;
    let s2 = s2_sdk::S2::new(s2_sdk::types::S2Config::new("token").with_endpoints(endpoints))?;
    let _ = s2.revoke_access_token("some-token-id".parse()?).await;'

apps=(s2-openapi s2-sdk)
new_app s2-openapi "s2-openapi = { path = \"$repo\" }" "$ours_main"
new_app s2-sdk 's2-sdk = "=0.35.3"' "$sdk_main"
if [ "${1:-}" = "--with-aws-lc-rs" ]; then
    apps=(s2-openapi s2-openapi-aws-lc-rs s2-sdk)
    new_app s2-openapi-aws-lc-rs \
        "s2-openapi = { path = \"$repo\", default-features = false, features = [\"rustls-aws-lc-rs\"] }" \
        "$ours_main"
fi

echo "machine: $(nproc) cores, $(uname -sr), $(rustc --version)"
echo "before: $(uptime)"
declare -A seconds crates
for app in "${apps[@]}"; do
    start=$(date +%s.%N)
    (cd "$work/$app" && cargo build --release --timings --target-dir "$work/$app/target" 2> "$work/$app.log") || {
        cat "$work/$app.log" >&2
        exit 1
    }
    end=$(date +%s.%N)
    seconds[$app]=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    crates[$app]=$(grep -c '^ *Compiling ' "$work/$app.log")
    printf '%-22s %6s s  %3s crates compiled\n' "$app" "${seconds[$app]}" "${crates[$app]}"
done
echo "after:  $(uptime)"
# Where the time went: the slowest units of each build (seconds of one
# core each; units run two at a time on 2 cores).
for app in "${apps[@]}"; do
    python3 - "$(ls -t "$work/$app"/target/cargo-timings/cargo-timing*.html | head -n 1)" "$app" <<'PY' || true
import json, re, sys
html = open(sys.argv[1]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S).group(1))
total = sum(u["duration"] for u in units)
top = sorted(units, key=lambda u: -u["duration"])[:8]
print(f"{sys.argv[2]}: {total:.0f} s of units; slowest: " + ", ".join(
    f"{u['name']}{' (' + u['target'].strip() + ')' if u['target'].strip() else ''} {u['duration']:.0f}" for u in top))
PY
done
for app in "${apps[@]}"; do
    [ "$app" = s2-sdk ] && continue
    awk -v a="${seconds[$app]}" -v b="${seconds[s2-sdk]}" -v n="$app" \
        'BEGIN { printf "ratio %s / s2-sdk: %.2f (goal: at most 0.80)\n", n, a / b }'
done
