//! The main job's story ([`story`]), which `quickstart` runs: the whole Operation A on an
//! embedded devnet, with the supplier agent (`snm-agent`) and the metered proxy (`snm-proxy`).
//! The other programs of this crate are short, one story each, on the SDK's public API alone.

pub mod story;
