//! The report views `run` and `probe` can write besides JSON and JUnit: a static HTML page, a
//! Markdown summary and one Wireshark capture per case.

use super::{Error, write_file};
use clap::Args;
use std::path::PathBuf;
use zmtp_harness::registry::Registry;
use zmtp_harness::report::RunReport;

/// `--html`, `--markdown` and `--pcap`.
#[derive(Args, Clone, Default)]
pub struct OutputArgs {
    /// Write a self-contained HTML report to DIR/index.html.
    #[arg(long, value_name = "DIR")]
    html: Option<PathBuf>,
    /// Write a Markdown summary (for a pull-request comment) with links into the HTML report.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write one pcapng per case that kept octets into DIR (open with tools/wireshark/zmtp.lua).
    #[arg(long, value_name = "DIR")]
    pcap: Option<PathBuf>,
}

impl OutputArgs {
    /// Writes the views asked for.
    pub fn write(&self, report: &RunReport, registry: &Registry) -> Result<(), Error> {
        let runs = std::slice::from_ref(report);
        if let Some(dir) = &self.html {
            let path = zmtp_harness::html::write(dir, runs, registry)
                .map_err(|e| Error::Failed(e.to_string()))?;
            eprintln!("HTML report: {}", path.display());
        }
        if let Some(path) = &self.markdown {
            let link = self
                .html
                .as_ref()
                .map(|dir| relative_link(path, &dir.join("index.html")));
            write_file(path, &zmtp_harness::markdown::render(runs, link.as_deref()))?;
        }
        if let Some(dir) = &self.pcap {
            let files = zmtp_harness::pcap::write_dir(dir, report)
                .map_err(|e| Error::Failed(e.to_string()))?;
            eprintln!("{} capture(s) in {}", files.len(), dir.display());
        }
        Ok(())
    }
}

/// The HTML page's path as seen from the Markdown file's directory, when it lies below it.
pub(crate) fn relative_link(markdown: &std::path::Path, html: &std::path::Path) -> String {
    let base = markdown.parent().unwrap_or(std::path::Path::new(""));
    html.strip_prefix(base)
        .unwrap_or(html)
        .display()
        .to_string()
}
