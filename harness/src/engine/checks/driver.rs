//! Checks over what a driver reported: saved replies, saved values, the process's state.

use super::Eval;
use crate::scenario::check;
use serde_json::Value;

/// `check.result`: a saved reply's `result` is (or is not) this.
pub(super) fn result(c: &check::Result, reply: &Value) -> Eval {
    let r = reply.get("result").and_then(Value::as_str).unwrap_or("?");
    let holds =
        c.is.as_deref().is_none_or(|w| r == w) && c.is_not.as_deref().is_none_or(|w| r != w);
    let expected = match (&c.is, &c.is_not) {
        (Some(w), _) => format!("result {w}"),
        (None, Some(n)) => format!("a result other than {n}"),
        (None, None) => "any result".into(),
    };
    Eval::new(
        holds,
        expected,
        format!(
            "result {r} {}",
            reply.get("message").and_then(Value::as_str).unwrap_or("")
        ),
    )
}

/// `check.field`: the value at `c.var`/`c.path` equals a value or lies within bounds;
/// `bound` is the resolved `max_var` (its name and value plus slack), `other` the resolved
/// `differs_from` (its name and value).
pub(super) fn field(
    c: &check::Field,
    v: &Value,
    bound: Option<(&str, f64)>,
    other: Option<(&str, &Value)>,
) -> Eval {
    let mut holds = true;
    if let Some((_, o)) = other {
        holds &= v != o;
    }
    if let Some((_, b)) = bound {
        holds &= v.as_f64().is_some_and(|x| x <= b);
    }
    if let Some(e) = &c.equals {
        let want = serde_json::to_value(e).unwrap_or(Value::Null);
        holds &= *v == want || v.as_f64().is_some() && v.as_f64() == want.as_f64();
    }
    if let Some(m) = c.min {
        holds &= v.as_f64().is_some_and(|x| x >= m);
    }
    if let Some(m) = c.max {
        holds &= v.as_f64().is_some_and(|x| x <= m);
    }
    let name = if c.path.is_empty() {
        c.var.clone()
    } else {
        format!("{}.{}", c.var, c.path)
    };
    Eval::new(
        holds,
        format!(
            "{name}{}{}{}{}",
            c.equals
                .as_ref()
                .map(|e| format!(" = {e}"))
                .unwrap_or_default(),
            c.min.map(|m| format!(" ≥ {m}")).unwrap_or_default(),
            c.max.map(|m| format!(" ≤ {m}")).unwrap_or_default(),
            bound
                .map(|(o, b)| format!(" ≤ {o} + {} = {b}", c.slack))
                .unwrap_or_default()
        ) + &other
            .map(|(o, x)| format!(" ≠ {o} ({x})"))
            .unwrap_or_default(),
        v.to_string(),
    )
}

/// `check.message`: a saved `recv` reply got exactly `want`.
pub(super) fn message(want: &[Vec<u8>], reply: &Value) -> Eval {
    let got: Option<Vec<Vec<u8>>> = reply.get("parts_hex").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|p| hex::decode(p.as_str()?).ok())
            .collect()
    });
    Eval::new(
        got.as_deref() == Some(want),
        format!("the message {}", super::show(want)),
        match got {
            Some(g) => super::show(&g),
            None => format!(
                "result {}",
                reply.get("result").and_then(Value::as_str).unwrap_or("?")
            ),
        },
    )
}

/// What is known of a role's process for `check.alive`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ProcessState {
    /// It never started in this case.
    NeverStarted,
    /// It is running.
    Running,
    /// It exited with this status.
    Exited(String),
}

/// `check.alive`: the process is alive.
pub(super) fn alive(state: &ProcessState) -> Eval {
    Eval::new(
        *state == ProcessState::Running,
        "the implementation's process is alive",
        match state {
            ProcessState::Running => "alive".to_string(),
            ProcessState::Exited(status) => format!("it exited: {status}"),
            ProcessState::NeverStarted => "never started".to_string(),
        },
    )
}

/// `check.exited`: a saved `wait-exit` shows this code, within `within_ms` (times `scale`).
pub(super) fn exited(c: &check::Exited, saved: &Value, scale: f64) -> Eval {
    let code = saved.get("code").and_then(Value::as_i64);
    let ms = saved
        .get("elapsed_ms")
        .and_then(Value::as_f64)
        .unwrap_or(f64::MAX);
    let bound = c.within_ms.map(|w| w as f64 * scale);
    let holds =
        c.code.is_none_or(|want| code == Some(i64::from(want))) && bound.is_none_or(|b| ms <= b);
    Eval::new(
        holds,
        format!(
            "exit{}{}",
            c.code
                .map(|c| format!(" with code {c}"))
                .unwrap_or_default(),
            bound
                .map(|b| format!(" within {b:.0} ms"))
                .unwrap_or_default()
        ),
        format!(
            "code {code:?}, signal {}, after {ms:.1} ms",
            saved.get("signal").unwrap_or(&Value::Null)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse<T: serde::de::DeserializeOwned>(text: &str) -> T {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn result_is_and_is_not() {
        let reply = json!({"result": "would_block"});
        assert!(result(&parse("var = \"r\"\nis = \"would_block\""), &reply).holds);
        assert!(!result(&parse("var = \"r\"\nis = \"ok\""), &reply).holds);
        assert!(result(&parse("var = \"r\"\nis_not = \"ok\""), &reply).holds);
        assert!(!result(&parse("var = \"r\"\nis_not = \"would_block\""), &reply).holds);
    }

    #[test]
    fn field_equals_bounds_and_max_var() {
        let c: check::Field = parse("var = \"v\"\nequals = 3");
        assert!(field(&c, &json!(3.0), None, None).holds);
        assert!(!field(&c, &json!(4), None, None).holds);
        let c: check::Field = parse("var = \"v\"\nmin = 1.0\nmax = 2.0");
        assert!(field(&c, &json!(1.5), None, None).holds);
        assert!(!field(&c, &json!(2.5), None, None).holds);
        let c: check::Field = parse("var = \"fds\"\nmax_var = \"before\"\nslack = 2.0");
        let e = field(&c, &json!(12), Some(("before", 12.0)), None);
        assert!(e.holds);
        assert_eq!(e.expected, "fds ≤ before + 2 = 12");
        assert!(!field(&c, &json!(13), Some(("before", 12.0)), None).holds);
    }

    #[test]
    fn field_differs_from_another_saved_value() {
        let c: check::Field =
            parse("var = \"second\"\npath = \"cookie\"\ndiffers_from = \"first.cookie\"");
        let e = field(
            &c,
            &json!("ab01"),
            None,
            Some(("first.cookie", &json!("ab02"))),
        );
        assert!(e.holds);
        assert_eq!(e.expected, "second.cookie ≠ first.cookie (\"ab02\")");
        let e = field(
            &c,
            &json!("ab01"),
            None,
            Some(("first.cookie", &json!("ab01"))),
        );
        assert_eq!((e.holds, e.actual.as_str()), (false, "\"ab01\""));
    }

    #[test]
    fn message_compares_every_frame() {
        let reply = json!({"result": "ok", "parts_hex": ["6869", ""]});
        assert!(message(&[b"hi".to_vec(), vec![]], &reply).holds);
        assert!(!message(&[b"hi".to_vec()], &reply).holds);
        let e = message(&[b"hi".to_vec()], &json!({"result": "timeout"}));
        assert_eq!((e.holds, e.actual.as_str()), (false, "result timeout"));
    }

    #[test]
    fn alive_by_state() {
        assert!(alive(&ProcessState::Running).holds);
        assert!(!alive(&ProcessState::NeverStarted).holds);
        let e = alive(&ProcessState::Exited("signal: 9".into()));
        assert_eq!(
            (e.holds, e.actual.as_str()),
            (false, "it exited: signal: 9")
        );
    }

    #[test]
    fn exited_code_and_time() {
        let saved = json!({"code": 0, "signal": null, "elapsed_ms": 150.0});
        assert!(
            exited(
                &parse("var = \"x\"\ncode = 0\nwithin_ms = 200"),
                &saved,
                1.0
            )
            .holds
        );
        assert!(!exited(&parse("var = \"x\"\ncode = 1"), &saved, 1.0).holds);
        assert!(!exited(&parse("var = \"x\"\nwithin_ms = 100"), &saved, 1.0).holds);
        assert!(exited(&parse("var = \"x\"\nwithin_ms = 100"), &saved, 2.0).holds);
    }
}
