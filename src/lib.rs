#![doc = "s2-openapi"]
#![deny(missing_docs)]

/// The progenitor-generated client and types.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    unused_imports,
    unreachable_pub
)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

/// Facts about the spec this crate was generated from.
pub mod spec {
    include!(concat!(env!("OUT_DIR"), "/spec_info.rs"));
}
