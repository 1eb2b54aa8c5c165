//! Traceability between `spec/zmtp.md`, `spec/semantics.md` and `spec/requirements.toml`.
//!
//! Every failure names the offending identifier and, where there is one, the `file:line` of the
//! sentence that carries it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use zmtp_harness::registry::{Level, Registry, Requirement, Testability, extract_ids};

const DOCS: [&str; 2] = ["zmtp.md", "semantics.md"];

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

fn registry() -> Registry {
    let path = spec_dir().join("requirements.toml");
    Registry::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One bracketed identifier found in a document.
struct Tag {
    id: String,
    doc: &'static str,
    line: usize,
    /// The text of the line before the tag, after any earlier tag on the same line: the sentence
    /// the tag belongs to (the documents keep one tagged sentence per line).
    sentence: String,
}

impl Tag {
    fn location(&self) -> String {
        format!("spec/{}:{}", self.doc, self.line)
    }
}

fn tags() -> Vec<Tag> {
    let mut out = Vec::new();
    for doc in DOCS {
        let path = spec_dir().join(doc);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (index, line_text) in text.lines().enumerate() {
            // Tags come back in order of appearance, so each is the first occurrence of its
            // bracketed text after the end of the previous tag on the line.
            let mut rest = 0;
            for (id, _) in extract_ids(line_text) {
                let tag = format!("[{id}]");
                let at = line_text[rest..]
                    .find(&tag)
                    .map(|p| p + rest)
                    .unwrap_or_else(|| panic!("spec/{doc}:{}: {tag} not found", index + 1));
                out.push(Tag {
                    sentence: line_text[rest..at].to_owned(),
                    id,
                    doc,
                    line: index + 1,
                });
                rest = at + tag.len();
            }
        }
    }
    out
}

fn fail_if_any(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s)\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn ids_are_unique_and_well_formed() {
    let registry = registry();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (index, r) in registry.iter().enumerate() {
        if let Some(first) = seen.insert(&r.id, index) {
            problems.push(format!(
                "{}: registered twice (entries {} and {})",
                r.id,
                first + 1,
                index + 1
            ));
        }
        if extract_ids(&format!("[{}]", r.id)) != vec![(r.id.clone(), 1)] {
            problems.push(format!("{}: not of the form PREFIX-nn", r.id));
        }
        if !DOCS.contains(&r.doc.as_str()) {
            problems.push(format!("{}: unknown doc {:?}", r.id, r.doc));
        }
        for (field, value) in [
            ("statement", &r.statement),
            ("source", &r.source),
            ("role", &r.role),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{}: empty {field}", r.id));
            }
        }
    }
    fail_if_any("registry identifiers", &problems);
}

#[test]
fn every_tag_in_the_documents_is_registered_with_its_doc() {
    let registry = registry();
    let mut problems = Vec::new();
    for tag in tags() {
        match registry.get(&tag.id) {
            None => problems.push(format!(
                "{} ({}): not in requirements.toml",
                tag.id,
                tag.location()
            )),
            Some(r) if r.doc != tag.doc => problems.push(format!(
                "{} ({}): registry says doc = {:?}",
                tag.id,
                tag.location(),
                r.doc
            )),
            Some(_) => {}
        }
    }
    fail_if_any("tags missing from the registry", &problems);
}

#[test]
fn every_registered_id_is_defined_exactly_once() {
    let registry = registry();
    let mut definitions: HashMap<String, Vec<String>> = HashMap::new();
    for tag in tags() {
        definitions
            .entry(tag.id.clone())
            .or_default()
            .push(tag.location());
    }
    let mut problems = Vec::new();
    for r in &registry {
        match definitions.get(&r.id).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!("{}: never defined in spec/{}", r.id, r.doc)),
            Some([_]) => {}
            Some(many) => problems.push(format!(
                "{}: defined {} times: {}",
                r.id,
                many.len(),
                many.join(", ")
            )),
        }
    }
    fail_if_any("registry entries not defined exactly once", &problems);
}

#[test]
fn registry_follows_document_order() {
    let registry = registry();
    // Position of each identifier's first definition: (document index, line).
    let mut order: HashMap<String, (usize, usize)> = HashMap::new();
    for t in tags() {
        let doc_index = DOCS.iter().position(|d| *d == t.doc).unwrap_or(DOCS.len());
        order.entry(t.id).or_insert((doc_index, t.line));
    }
    let mut problems = Vec::new();
    let mut previous: Option<(&Requirement, (usize, usize))> = None;
    for r in &registry {
        let Some(&position) = order.get(&r.id) else {
            continue;
        };
        if let Some((prev, prev_position)) = previous
            && position < prev_position
        {
            problems.push(format!(
                "{} (spec/{}:{}) is listed after {} (spec/{}:{})",
                r.id, r.doc, position.1, prev.id, prev.doc, prev_position.1
            ));
        }
        previous = Some((r, position));
    }
    fail_if_any("registry out of document order", &problems);
}

#[test]
fn untestable_entries_have_a_reason() {
    let registry = registry();
    let locations: HashMap<String, String> = tags()
        .into_iter()
        .map(|t| (t.id.clone(), t.location()))
        .collect();
    let mut problems = Vec::new();
    for r in &registry {
        let at = locations
            .get(&r.id)
            .cloned()
            .unwrap_or_else(|| format!("spec/{}", r.doc));
        let has_reason = r.reason.as_deref().is_some_and(|s| !s.trim().is_empty());
        if r.testability == Testability::Untestable && !has_reason {
            problems.push(format!("{} ({at}): untestable without a reason", r.id));
        }
        if r.testability != Testability::Untestable && r.reason.is_some() {
            problems.push(format!(
                "{} ({at}): reason given for a {} requirement",
                r.id, r.testability
            ));
        }
    }
    fail_if_any("untestable entries", &problems);
}

#[test]
fn at_least_300_requirements() {
    let registry = registry();
    let mut by_level: BTreeMap<Level, usize> = BTreeMap::new();
    let mut by_testability: BTreeMap<Testability, usize> = BTreeMap::new();
    let mut by_doc: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &registry {
        *by_level.entry(r.level).or_default() += 1;
        *by_testability.entry(r.testability).or_default() += 1;
        *by_doc.entry(r.doc.as_str()).or_default() += 1;
    }
    println!("{} requirements", registry.len());
    for level in Level::ALL {
        println!(
            "  {level:<10} {}",
            by_level.get(&level).copied().unwrap_or(0)
        );
    }
    for testability in Testability::ALL {
        println!(
            "  {testability:<10} {}",
            by_testability.get(&testability).copied().unwrap_or(0)
        );
    }
    for (doc, count) in &by_doc {
        println!("  {doc:<12} {count}");
    }
    assert!(
        registry.len() >= 300,
        "only {} requirements registered",
        registry.len()
    );
}

#[test]
fn codec_errors_cite_registered_requirements() {
    let registry = registry();
    let problems: Vec<String> = zmtp_codec::DecodeError::REQUIREMENTS
        .iter()
        .filter(|id| registry.get(id).is_none())
        .map(|id| format!("{id}: cited by zmtp_codec::DecodeError but not registered"))
        .collect();
    fail_if_any("codec requirement citations", &problems);
    for id in zmtp_codec::DecodeError::REQUIREMENTS {
        if let Some(r) = registry.get(id) {
            assert_eq!(
                r.doc, "zmtp.md",
                "{id}: codec errors cite the wire spec only"
            );
        }
    }
}

/// Whether `text` contains `word` as a whole word (not inside a longer upper-case token).
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn levels_agree_with_the_tagged_sentences() {
    let registry = registry();
    let mut problems = Vec::new();
    for tag in tags() {
        let Some(r) = registry.get(&tag.id) else {
            continue;
        };
        let sentence = tag.sentence.as_str();
        let uses_keyword = ["MUST", "SHALL", "SHOULD", "MAY"]
            .iter()
            .any(|k| has_word(sentence, k));
        if !uses_keyword {
            continue;
        }
        let agrees = match r.level {
            // "MUST NOT" contains "MUST"; "SHALL" is written MUST by convention.
            Level::Must => has_word(sentence, "MUST") || has_word(sentence, "SHALL"),
            // "SHOULD NOT" contains "SHOULD".
            Level::Should => has_word(sentence, "SHOULD"),
            Level::May => has_word(sentence, "MAY"),
        };
        if !agrees {
            problems.push(format!(
                "{} ({}): registry level {} but the sentence says: {}",
                tag.id,
                tag.location(),
                r.level,
                sentence.trim().trim_start_matches("- ")
            ));
        }
    }
    fail_if_any("levels disagreeing with the documents", &problems);
}

#[test]
fn bundled_registry_matches_the_file() {
    let bundled = Registry::bundled().expect("bundled registry parses");
    assert_eq!(
        bundled,
        registry(),
        "the embedded registry is stale; rebuild"
    );
}
