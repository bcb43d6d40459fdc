//! Everything `build.rs` generates from the spec, in one place: the
//! progenitor client and types, the live client, the spec's facts, and
//! the impls that give generated builders the crate's behaviour. Nothing
//! here is written by hand; `build.rs` writes each file to `OUT_DIR` in
//! every build.

// The progenitor client and types, exactly as generated, with the checked
// strings' `TryFrom<&String>` and the spec's declared error bodies
// (`DeclaredError`).
include!(concat!(env!("OUT_DIR"), "/generated.rs"));

/// The live client: the spec's operations whose answer is a stream of
/// Server-Sent Events, as generated for [`Basin::live`](crate::Basin::live).
/// Its types are the main client's.
pub mod live {
    include!(concat!(env!("OUT_DIR"), "/live_client.rs"));
}

/// Facts read from the spec at build time, which the `spec` module
/// publishes.
pub(crate) mod facts {
    include!(concat!(env!("OUT_DIR"), "/spec_info.rs"));
}

// `From<(name, value)>` for the spec's header type, and the record-data
// pairs: `("name", "value").into()`.
include!(concat!(env!("OUT_DIR"), "/records.rs"));

/// What the crate's wrapper adds to generated builders: awaiting one
/// gives its value or the crate's `Error`; cursor lists and live reads.
#[cfg(s2_openapi_wrapper)]
mod wrapper {
    include!(concat!(env!("OUT_DIR"), "/calls.rs"));
    include!(concat!(env!("OUT_DIR"), "/lists.rs"));
    include!(concat!(env!("OUT_DIR"), "/live_reads.rs"));
}
