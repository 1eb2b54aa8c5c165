//! Case templates: one `[[case]]` that stands for many.
//!
//! `params = [{ a = "PUB", b = "SUB" }, ...]` makes one case per entry; `matrix = { a = [...],
//! b = [...] }` makes one per combination. In every string of the case, `{{name}}` is replaced by
//! the parameter's value; a string that is exactly `{{name}}` takes the value with its type (an
//! integer stays an integer). Expansion happens when the file is loaded, so each expanded case
//! has its own id and verdict.

use toml::Value;

type Params = Vec<(String, Value)>;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn substitute(v: &Value, params: &Params) -> Value {
    match v {
        Value::String(s) => {
            for (k, val) in params {
                if s == &format!("{{{{{k}}}}}") {
                    return val.clone();
                }
            }
            let mut out = s.clone();
            for (k, val) in params {
                out = out.replace(&format!("{{{{{k}}}}}"), &text(val));
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, params)).collect()),
        Value::Table(t) => Value::Table(
            t.iter()
                .map(|(k, x)| (k.clone(), substitute(x, params)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The cases a `[[case]]` table stands for: itself, or one per parameter set.
pub fn expand(case: Value) -> Result<Vec<Value>, String> {
    let Value::Table(mut t) = case else {
        return Ok(vec![case]);
    };
    let mut sets: Vec<Params> = Vec::new();
    if let Some(p) = t.remove("params") {
        let Value::Array(list) = p else {
            return Err("`params` must be an array of tables".into());
        };
        for entry in list {
            let Value::Table(e) = entry else {
                return Err("`params` must be an array of tables".into());
            };
            sets.push(e.into_iter().collect());
        }
    }
    if let Some(m) = t.remove("matrix") {
        let Value::Table(axes) = m else {
            return Err("`matrix` must be a table of arrays".into());
        };
        let mut combos: Vec<Params> = vec![Vec::new()];
        for (k, values) in axes {
            let Value::Array(values) = values else {
                return Err(format!("`matrix.{k}` must be an array"));
            };
            let mut next = Vec::new();
            for c in &combos {
                for v in &values {
                    let mut c = c.clone();
                    c.push((k.clone(), v.clone()));
                    next.push(c);
                }
            }
            combos = next;
        }
        sets = if sets.is_empty() {
            combos
        } else {
            sets.into_iter()
                .flat_map(|s| {
                    combos.iter().map(move |c| {
                        let mut s = s.clone();
                        s.extend(c.iter().cloned());
                        s
                    })
                })
                .collect()
        };
    }
    let case = Value::Table(t);
    if sets.is_empty() {
        return Ok(vec![case]);
    }
    Ok(sets.iter().map(|p| substitute(&case, p)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_params_and_matrix() {
        let case: Value = toml::from_str(
            r#"
            id = "f/{{a}}-{{n}}"
            count = "{{n}}"
            params = [{ a = "PUB" }, { a = "SUB" }]
            matrix = { n = [1, 2] }
            "#,
        )
        .unwrap();
        let out = expand(case).unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(out[0]["id"].as_str(), Some("f/PUB-1"));
        assert_eq!(out[3]["id"].as_str(), Some("f/SUB-2"));
        assert_eq!(out[3]["count"].as_integer(), Some(2));
    }
}
