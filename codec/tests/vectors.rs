//! The golden vectors (`vectors/*.json`) against the codec, through the `zmtp-vectors` runner:
//!
//! 1. every vector meets its result semantics in both profiles, streams in every chunking;
//! 2. ids are unique, counts match, every vector has the fields its result and context need;
//! 3. every family has a vector of each result class;
//! 4. one insta snapshot per vector of what the codec decodes (`tests/snapshots/`).
//!
//! The harness checks what needs the rest of the repository: that every cited requirement is
//! in `spec/requirements.toml`, and that `vectors/generate.py` writes these files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use zmtp_vectors::{self as vectors, Expectation, Vector, VectorFile};

const FAMILIES: [&str; 7] = [
    "greeting",
    "frame",
    "command",
    "metadata",
    "subscription",
    "stream",
    "transcript",
];

fn files() -> Vec<(PathBuf, VectorFile)> {
    match vectors::load_dir(&vectors::default_dir()) {
        Ok(files) => files,
        Err(e) => panic!("loading vectors: {e}"),
    }
}

fn all() -> Vec<Vector> {
    files().into_iter().flat_map(|(_, f)| f.vectors).collect()
}

#[test]
fn every_vector_meets_its_result() {
    let mut failures = Vec::new();
    let mut count = 0;
    for v in all() {
        count += 1;
        match v.check() {
            Ok(Ok(())) => {}
            Ok(Err(mismatches)) => {
                for m in mismatches {
                    failures.push(format!("{}: {m}", v.id));
                }
            }
            Err(e) => failures.push(format!("{}: cannot run: {e}", v.id)),
        }
    }
    assert!(count >= 150, "only {count} vectors");
    assert!(
        failures.is_empty(),
        "{} mismatch(es):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn files_are_well_formed() {
    let files = files();
    let names: BTreeSet<String> = files.iter().map(|(_, f)| f.family.clone()).collect();
    for family in FAMILIES {
        assert!(names.contains(family), "no {family}.json");
    }
    let mut problems = Vec::new();
    let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (path, file) in &files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem != file.family {
            problems.push(format!("{}: family is {:?}", path.display(), file.family));
        }
        for p in file.structural_problems() {
            problems.push(format!("{}: {p}", path.display()));
        }
        for v in &file.vectors {
            if let Some(first) = ids.insert(v.id.clone(), path.clone()) {
                problems.push(format!(
                    "duplicate id {} in {} and {}",
                    v.id,
                    first.display(),
                    path.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every family has at least one vector of each result class where the spec leaves choices.
#[test]
fn result_classes_are_covered() {
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, f) in files() {
        for v in f.vectors {
            seen.insert((f.family.clone(), format!("{:?}", v.result)));
        }
    }
    for family in FAMILIES {
        for result in [
            Expectation::Valid,
            Expectation::Invalid,
            Expectation::Acceptable,
        ] {
            assert!(
                seen.contains(&(family.to_string(), format!("{result:?}"))),
                "{family} has no {result:?} vector"
            );
        }
    }
}

#[test]
fn snapshots() {
    for v in all() {
        let value = match v.snapshot() {
            Ok(value) => value,
            Err(e) => panic!("{}: {e}", v.id),
        };
        insta::with_settings!({
            description => v.description.clone(),
            omit_expression => true,
        }, {
            insta::assert_json_snapshot!(v.id.as_str(), value);
        });
    }
}
