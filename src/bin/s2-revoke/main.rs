//! `s2-revoke`: revoke S2 access tokens by id, one or a million.
//!
//! Ids come from arguments and/or `--from-file PATH`, one per line; a lone
//! `-` (as an argument or as `PATH`) reads standard input. Each line is an
//! id as written, without its line ending (`\n` or `\r\n`): spaces are part
//! of it, as S2 allows; empty lines are skipped. The token
//! comes from `S2_ACCESS_TOKEN` or `--access-token-file`, never from an
//! argument (arguments are visible to other users of the machine).
//!
//! Every input id gets exactly one outcome line (text, or NDJSON with
//! `--json`), in completion order. Exit status: 0 when every id was revoked
//! (or was already gone, or repeated an earlier one), 1 when any failed, was
//! refused or was not attempted, or the input was cut short (a read error,
//! or Ctrl-C before its end), 2 for usage or configuration errors.
//! Ctrl-C stops reading and sending, waits for requests in flight, and
//! reports every id read but not attempted; a second Ctrl-C exits at once
//! (status 130).
//!
//! Built from a spec without `revoke_access_token`, the command says so and
//! exits with status 2.

use std::process::ExitCode;

#[cfg(s2_openapi_revoke)]
mod cli;

#[cfg(s2_openapi_revoke)]
fn main() -> ExitCode {
    cli::main()
}

#[cfg(not(s2_openapi_revoke))]
fn main() -> ExitCode {
    eprintln!(
        "s2-revoke: this build of s2-openapi was generated from a spec without \
         `revoke_access_token` ({})",
        s2_openapi::spec::SPEC_TITLE
    );
    ExitCode::from(2)
}
