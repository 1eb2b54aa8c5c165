//! The golden vectors (`vectors/*.json`) against the rest of the repository. The codec's own
//! tests (`codec/tests/vectors.rs`) run every vector; here:
//!
//! 1. every cited requirement ID exists in `spec/requirements.toml`;
//! 2. `vectors/generate.py --check` passes (the files are what the generator writes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use zmtp_harness::registry::Registry;
use zmtp_harness::vectors::{self, Vector};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn all() -> Vec<Vector> {
    match vectors::load_dir(&vectors::default_dir()) {
        Ok(files) => files.into_iter().flat_map(|(_, f)| f.vectors).collect(),
        Err(e) => panic!("loading vectors: {e}"),
    }
}

#[test]
fn cited_requirements_exist() {
    let path = repo_root().join("spec").join("requirements.toml");
    let registry = Registry::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in all() {
        for r in &v.requirements {
            if registry.get(r).is_none() {
                missing.entry(r.clone()).or_default().push(v.id.clone());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "requirement IDs cited by vectors but absent from {}:\n{}",
        path.display(),
        missing
            .iter()
            .map(|(r, ids)| format!("{r}: {}", ids.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn generator_output_is_current() {
    let script = repo_root().join("vectors").join("generate.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg("--check")
        .output()
        .unwrap_or_else(|e| panic!("running python3 {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "vectors/*.json differ from what vectors/generate.py writes; run `python3 vectors/generate.py` \
         and review `git diff vectors/`.\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
