//! `list`: the scenario cases, by family.

use super::{Error, ScenarioSource, outln};
use clap::Args;
use std::process::ExitCode;
use zmtp_harness::{run, scenario, schedule};

/// Options of `list`.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    source: ScenarioSource,
    /// Only cases matching this glob.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Prints the selected cases as text or JSON.
pub fn execute(args: ListArgs) -> Result<ExitCode, Error> {
    let registry = super::registry()?;
    let all = args.source.load(&registry)?;
    let cases = run::select(&all, &args.cases, &[], &[])?;
    if args.json {
        let rows: Vec<serde_json::Value> = cases
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.case.id, "title": c.case.title, "family": c.family,
                    "requirements": scenario::cited_requirements(&c.case),
                    "tags": c.case.tags, "source": c.source,
                    "alone": schedule::why_alone(&c.case),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let mut family = String::new();
        for c in &cases {
            if c.family != family {
                family = c.family.clone();
                outln!("\n{family}");
            }
            outln!(
                "  {:<48} {}  [{}]{}",
                c.case.id,
                c.case.title,
                c.case.requirements.join(" "),
                schedule::why_alone(&c.case)
                    .map(|why| format!("  (runs alone: {why})"))
                    .unwrap_or_default()
            );
        }
        let alone = cases
            .iter()
            .filter(|c| schedule::runs_alone(&c.case))
            .count();
        outln!(
            "\n{} case(s), {alone} of them run alone under --jobs",
            cases.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
