//! The names Kusto gives to columns nobody named: `tostring(x)` is `x`, `RawEventData.UserId` is
//! `RawEventData_UserId`, `count()` is `count_`, anything else is `Column1`, `Column2`, ...; and unique
//! names when two columns would share one (`Key`, `Key1`).

use super::super::ast::{Expr, ExprKind};
use super::super::functions::{self, ResultName};
use super::super::kusto;
use super::super::value::Value;

/// The name an expression gives its column, if it has one (Kusto.Language's `GetExpressionResultName`).
pub fn inferred_name(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Name(name) => Some(name.clone()),
        // `d.a` is `d_a`; a member of something unnamed is its own name (`parse_json(x).a` is `a`).
        ExprKind::Member { target, name } => Some(match inferred_name(target) {
            Some(target) if !target.is_empty() => format!("{target}_{}", name.text),
            _ => name.text.clone(),
        }),
        // `arr[0]` is `arr_0`, `d['k']` is `d_k`; an index that is no literal leaves its place empty
        // (`arr[-1]` and `arr[i]` are `arr_`).
        ExprKind::Index { target, index } => {
            let suffix = match &index.kind {
                ExprKind::Literal { value: Value::String(s), .. } => Some(s.to_string()),
                ExprKind::Literal { value: Value::Long(n), .. } if *n >= 0 => Some(n.to_string()),
                ExprKind::Literal { value: Value::Int(n), .. } if *n >= 0 => Some(n.to_string()),
                _ => None,
            };
            match inferred_name(target) {
                Some(target) if !target.is_empty() => Some(format!("{target}_{}", suffix.unwrap_or_default())),
                _ => suffix,
            }
        }
        ExprKind::Named { name, .. } => Some(name.text.clone()),
        ExprKind::Call { function, arguments } => {
            // A named argument names the call's column: `bin(Hour = Timestamp, 1h)` makes `Hour`.
            if let Some(named) = arguments.iter().find_map(|a| match &a.kind {
                ExprKind::Named { name, .. } => Some(name.text.clone()),
                _ => None,
            }) {
                return Some(named);
            }
            let name = function.text.as_str();
            if matches!(name, "column_ifexists" | "columnifexists") {
                return match arguments.first().map(|a| &a.kind) {
                    Some(ExprKind::Literal { value: Value::String(s), .. }) => Some(s.to_string()),
                    _ => None,
                };
            }
            if let Some(prefix) = kusto::result_name_prefix(name) {
                let first = arguments.first().and_then(inferred_name).unwrap_or_default();
                return Some(format!("{prefix}_{first}"));
            }
            if let Some(fixed) = kusto::fixed_result_name(name) {
                return Some(fixed.to_string());
            }
            if kusto::named_after_only_argument(name) {
                return match arguments.as_slice() {
                    [only] => inferred_name(only),
                    _ => None,
                };
            }
            let by_first = functions::lookup(name).is_some_and(|f| f.result_name == ResultName::FirstArgument)
                || kusto::named_after_first_argument(name);
            if by_first { arguments.first().and_then(inferred_name) } else { None }
        }
        _ => None,
    }
}

/// `name`, or `name1`, `name2`, ... — the first that `taken` does not hold.
pub fn unique(name: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == name) {
        return name.to_string();
    }
    (1..).map(|n| format!("{name}{n}")).find(|candidate| !taken.iter().any(|t| t == candidate)).unwrap_or_default()
}

/// Hands out `Column1`, `Column2`, ... for unnamed expressions of one operator.
#[derive(Default)]
pub struct ColumnNumbers {
    next: usize,
}

impl ColumnNumbers {
    pub fn next(&mut self, taken: &[String]) -> String {
        loop {
            self.next += 1;
            let candidate = format!("Column{}", self.next);
            if !taken.contains(&candidate) {
                return candidate;
            }
        }
    }
}

/// Names of well-known columns in other products, mapped to the Defender name (Sentinel's `TimeGenerated`
/// is Defender's `Timestamp`), for "did you mean".
pub fn known_alias(name: &str) -> Option<&'static str> {
    match name {
        "TimeGenerated" => Some("Timestamp"),
        "Computer" => Some("DeviceName"),
        _ => None,
    }
}
