//! Traceability: every MUST that can be checked on the wire is checked by at least one case,
//! and every case cites only requirements that exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zmtp_harness::coverage::{Coverage, all_cases, vector_citations};
use zmtp_harness::registry::Registry;
use zmtp_harness::scenario;

#[test]
fn every_wire_testable_must_has_a_case() {
    let registry = Registry::bundled().unwrap();
    let cases = all_cases(&registry, scenario::builtin(&registry).unwrap()).unwrap();
    let cov = Coverage::compute(&registry, &cases, &vector_citations().unwrap());
    let missing = cov.uncovered_musts(&registry, true);
    println!(
        "{}",
        cov.render(false)
            .lines()
            .rev()
            .take(9)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        missing.is_empty(),
        "{} wire-testable MUST requirement(s) have no case (add a case, or mark the requirement \
         untestable in spec/requirements.toml with the reason): {}",
        missing.len(),
        missing.join(" ")
    );
}

#[test]
fn builtin_scenarios_load_and_cite_registered_requirements() {
    // `builtin` validates every file: ids, requirement IDs, waits tied to requirements.
    let registry = Registry::bundled().unwrap();
    let cases = scenario::builtin(&registry).unwrap();
    assert!(!cases.is_empty());
}
