//! Checks over time: the interval between two marks or connection events.

use super::Eval;
use crate::scenario::check;

/// `check.elapsed`: the time from `from_us` to `to_us` lies within bounds (the upper one
/// times `scale`); a missing time means its event did not happen.
pub(super) fn elapsed(
    c: &check::Elapsed,
    from_us: Option<u64>,
    to_us: Option<u64>,
    scale: f64,
    other_ms: Option<f64>,
) -> Eval {
    let (Some(a), Some(b)) = (from_us, to_us) else {
        return Eval::broken(format!(
            "{} did not happen",
            if from_us.is_none() { &c.from } else { &c.to }
        ));
    };
    let d = (b as f64 - a as f64) / 1000.0;
    let max = c.max_ms.map(|m| m * scale);
    // `longer_than`: at least `factor` times the other interval plus `plus_ms` (not scaled).
    let longer = match (&c.longer_than, other_ms) {
        (None, _) => None,
        (Some(l), None) => {
            return Eval::broken(format!("{} → {} did not happen", l.from, l.to));
        }
        (Some(l), Some(o)) => Some((l, o, l.factor * o + l.plus_ms)),
    };
    let holds = c.min_ms.is_none_or(|m| d >= m)
        && max.is_none_or(|m| d <= m)
        && longer.is_none_or(|(_, _, bound)| d >= bound);
    Eval::new(
        holds,
        format!(
            "{} → {}{}{}{}",
            c.from,
            c.to,
            c.min_ms.map(|m| format!(" ≥ {m} ms")).unwrap_or_default(),
            max.map(|m| format!(" ≤ {m:.0} ms")).unwrap_or_default(),
            longer
                .map(|(l, o, bound)| format!(
                    " ≥ {} × ({} → {}: {o:.1} ms) + {} ms = {bound:.1} ms",
                    l.factor, l.from, l.to, l.plus_ms
                ))
                .unwrap_or_default()
        ),
        format!("{d:.1} ms"),
    )
}

/// `check.measure` between two times: milliseconds, when both happened.
pub(super) fn interval_ms(from_us: Option<u64>, to_us: Option<u64>) -> Option<f64> {
    Some((to_us? as f64 - from_us? as f64) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(min: Option<f64>, max: Option<f64>) -> check::Elapsed {
        check::Elapsed {
            from: "a".into(),
            to: "b".into(),
            min_ms: min,
            max_ms: max,
            longer_than: None,
            requirement: None,
            optional: false,
            note: None,
            label: None,
            level: None,
        }
    }

    #[test]
    fn elapsed_within_bounds() {
        assert!(
            elapsed(
                &check(Some(10.0), Some(20.0)),
                Some(0),
                Some(15_000),
                1.0,
                None
            )
            .holds
        );
        assert!(!elapsed(&check(Some(10.0), None), Some(0), Some(5_000), 1.0, None).holds);
        assert!(!elapsed(&check(None, Some(20.0)), Some(0), Some(25_000), 1.0, None).holds);
        assert!(elapsed(&check(None, Some(20.0)), Some(0), Some(25_000), 2.0, None).holds);
    }

    #[test]
    fn elapsed_names_the_missing_event() {
        let e = elapsed(&check(None, None), Some(0), None, 1.0, None);
        assert_eq!((e.holds, e.actual.as_str()), (false, "b did not happen"));
        let e = elapsed(&check(None, None), None, None, 1.0, None);
        assert_eq!(e.actual, "a did not happen");
    }

    #[test]
    fn interval() {
        assert_eq!(interval_ms(Some(1000), Some(3500)), Some(2.5));
        assert_eq!(interval_ms(None, Some(1)), None);
    }
}
