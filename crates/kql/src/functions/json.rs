//! `extract_json(path, json[, typeof(T)])` (and the older `extractjson`): one value out of JSON text by a
//! JSONPath of Kusto's subset — `$`, `.name`, `['name']`, `[index]`.

use super::super::types::Type;
use super::super::value::{Dyn, Value};
use super::{Args, CallContext, FunctionDef, Param, def, expect, text};

pub(super) static FUNCTIONS: [FunctionDef; 2] =
    [def("extract_json", 2, 3, check, extract_json), def("extractjson", 2, 3, check, extract_json)];

fn check(args: &Args) -> Result<Type, String> {
    expect(args, &[Param::String, Param::Any, Param::String])?;
    Ok(match args.literal_text(2) {
        Some(name) => Type::from_name(&name).ok_or_else(|| format!("'{name}' is not a type"))?,
        None => Type::String,
    })
}

/// One step of a path.
#[derive(Debug, PartialEq)]
enum Step {
    Member(String),
    Index(i64),
}

/// The steps of a JSONPath, or `None` when it is not one.
fn steps(path: &str) -> Option<Vec<Step>> {
    let rest = path.trim().strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                if i == start {
                    return None;
                }
                steps.push(Step::Member(chars[start..i].iter().collect()));
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']')? + i;
                let inside: String = chars[i + 1..close].iter().collect();
                let inside = inside.trim();
                if let Some(quoted) = inside
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inside.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Member(quoted.to_string()));
                } else {
                    steps.push(Step::Index(inside.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

fn extract_json(context: &CallContext, v: &[Value]) -> Value {
    let Some(steps) = steps(&text(&v[0])) else { return Value::null_of(context.result_type) };
    let document = match &v[1] {
        Value::Dynamic(value) => value.clone(),
        other => match Dyn::parse(&text(other)) {
            Some(value) => value,
            None => return Value::null_of(context.result_type),
        },
    };
    let mut current = document;
    for step in &steps {
        current = match (step, &current) {
            (Step::Member(name), Dyn::Object(_)) => current.member(name),
            (Step::Index(index), Dyn::Array(items)) => {
                let position = if *index < 0 { items.len() as i64 + index } else { *index };
                usize::try_from(position).ok().and_then(|p| items.get(p)).cloned().unwrap_or_default()
            }
            _ => Dyn::Null,
        };
        if matches!(current, Dyn::Null) {
            return Value::null_of(context.result_type);
        }
    }
    match context.result_type {
        Type::String => Value::string(Value::Dynamic(current).to_text()),
        ty => super::convert(&Value::Dynamic(current), ty),
    }
}

#[cfg(test)]
mod tests {
    use super::{Step, steps};

    #[test]
    fn paths_of_kusto_s_subset() {
        assert_eq!(steps("$.a.b"), Some(vec![Step::Member("a".into()), Step::Member("b".into())]));
        assert_eq!(steps("$['a b'][2]"), Some(vec![Step::Member("a b".into()), Step::Index(2)]));
        assert_eq!(steps("$"), Some(vec![]));
        assert_eq!(steps("a.b"), None);
        assert_eq!(steps("$.a[x]"), None);
    }
}
