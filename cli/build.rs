//! Embeds the committed public deployments (`deployments/<chain id>.json` at the workspace root),
//! so that `snm --rpc URL` finds the contracts of a public chain with no deployment file.

use std::{fmt::Write as _, path::Path};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deployments");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<(u64, String)> = Vec::new();
    if let Ok(files) = std::fs::read_dir(&dir) {
        for file in files.flatten() {
            let path = file.path();
            let chain_id = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".json"))
                .and_then(|stem| stem.parse::<u64>().ok());
            if let Some(chain_id) = chain_id {
                println!("cargo:rerun-if-changed={}", path.display());
                entries.push((chain_id, path.display().to_string()));
            }
        }
    }
    entries.sort();
    let mut code = String::from(
        "/// The committed deployments: chain id and file content.\npub(crate) static COMMITTED: &[(u64, &str)] = &[\n",
    );
    for (chain_id, path) in entries {
        let _ = writeln!(code, "    ({chain_id}, include_str!({path:?})),");
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".to_owned())).join("deployments.rs");
    if let Err(error) = std::fs::write(&out, code) {
        panic!("cannot write {}: {error}", out.display());
    }
}
