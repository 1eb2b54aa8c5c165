//! The text tables of a perf report.

use super::{Cell, LatencyCell, Pattern, PerfReport, Setup, human};
use comfy_table::Table;

/// Size in a short form: `1 B`, `64 B`, `1 KiB`, `64 KiB`.
pub fn size_name(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

fn cell_text(c: &Cell) -> String {
    if let Some(e) = &c.error {
        let mut e = e.clone();
        if e.len() > 60 {
            let mut end = 60;
            while !e.is_char_boundary(end) {
                end -= 1;
            }
            e.truncate(end);
            e.push('…');
        }
        return format!("error: {e}");
    }
    let (Some(m), Some(b)) = (c.msgs_per_s, c.mb_per_s) else {
        return "·".into();
    };
    let mut text = format!(
        "{}/s {:.1} MB/s ({}–{})",
        human(m.median),
        b.median,
        human(m.min),
        human(m.max)
    );
    if let Some(d) = c.delivered.filter(|d| *d < 0.995) {
        text.push_str(&format!(" {:.0}% dlv", d * 100.0));
    }
    text
}

/// The throughput table: one row per pattern and size, one column per set-up.
pub fn render_table(report: &PerfReport) -> String {
    let mut setups: Vec<Setup> = Vec::new();
    let mut rows: Vec<(Pattern, usize)> = Vec::new();
    for c in &report.cells {
        if !setups.contains(&c.setup) {
            setups.push(c.setup);
        }
        if !rows.contains(&(c.pattern, c.size)) {
            rows.push((c.pattern, c.size));
        }
    }
    setups.sort_by_key(|s| Setup::ALL.iter().position(|x| x == s));
    let mut t = Table::new();
    *t.style_mut() = comfy_table::presets::UTF8_BORDERS_ONLY;
    let mut header = vec!["pattern".to_string(), "size".to_string()];
    header.extend(setups.iter().map(|s| s.name().to_string()));
    t.set_header(header);
    for (pattern, size) in rows {
        let frame = report
            .cells
            .iter()
            .find(|c| c.pattern == pattern && c.size == size)
            .map(|c| c.frame_octets)
            .unwrap_or(size);
        let mut row = vec![
            pattern.name().to_string(),
            format!("{} ({frame})", size_name(size)),
        ];
        for s in &setups {
            row.push(
                report
                    .cells
                    .iter()
                    .find(|c| c.pattern == pattern && c.size == size && c.setup == *s)
                    .map(cell_text)
                    .unwrap_or_else(|| "·".into()),
            );
        }
        t.add_row(row);
    }
    format!(
        "iut: {} · iut2: {} · {} run(s) of ~{} ms per cell · median msg/s and MB/s, (min–max msg/s)\n{t}\n",
        report.iut, report.iut2, report.runs, report.run_ms
    )
}

fn latency_text(c: &LatencyCell) -> Vec<String> {
    let f = |s: Option<super::Spread>| {
        s.map(|s| format!("{:.1} ({:.1}–{:.1})", s.median, s.min, s.max))
            .unwrap_or_else(|| c.error.clone().unwrap_or_else(|| "·".into()))
    };
    let trips = c.runs.iter().map(|r| r.round_trips).sum::<u64>();
    let wrong = c.runs.iter().map(|r| r.mismatched).sum::<u64>();
    let trips = if wrong > 0 {
        format!("{trips} ({wrong} wrong replies)")
    } else {
        trips.to_string()
    };
    vec![
        c.setup.clone(),
        size_name(c.size),
        trips,
        f(c.p50_us),
        f(c.p99_us),
        f(c.max_us),
    ]
}

/// The latency table (microseconds, median over the runs with min–max; the round trips of all
/// runs, with the replies that were not their request where there were any).
pub fn render_latency(cells: &[LatencyCell]) -> String {
    if cells.is_empty() {
        return String::new();
    }
    let mut t = Table::new();
    *t.style_mut() = comfy_table::presets::UTF8_BORDERS_ONLY;
    t.set_header(vec![
        "REQ/REP",
        "size",
        "round trips",
        "p50 µs",
        "p99 µs",
        "max µs",
    ]);
    for c in cells {
        t.add_row(latency_text(c));
    }
    format!("{t}\n")
}
