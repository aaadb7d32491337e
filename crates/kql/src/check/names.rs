//! The names Kusto gives to columns nobody named: `tostring(x)` is `x`, `RawEventData.UserId` is
//! `RawEventData_UserId`, `count()` is `count_`, anything else is `Column1`, `Column2`, ...; and unique
//! names when two columns would share one (`Key`, `Key1`).

use super::super::ast::{Expr, ExprKind};
use super::super::functions::{self, ResultName};
use super::super::value::Value;

/// The name an expression gives its column, if it has one.
pub fn inferred_name(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Name(name) => Some(name.clone()),
        ExprKind::Member { target, name } => Some(format!("{}_{}", inferred_name(target)?, name.text)),
        ExprKind::Index { target, index } => {
            let suffix = match &index.kind {
                ExprKind::Literal { value: Value::String(s), .. } => s.to_string(),
                ExprKind::Literal { value: Value::Long(n), .. } => n.to_string(),
                _ => return None,
            };
            Some(format!("{}_{}", inferred_name(target)?, suffix))
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
            if function.text == "column_ifexists" {
                return match arguments.first().map(|a| &a.kind) {
                    Some(ExprKind::Literal { value: Value::String(s), .. }) => Some(s.to_string()),
                    _ => None,
                };
            }
            let by_first = functions::lookup(&function.text)
                .is_some_and(|f| f.result_name == ResultName::FirstArgument)
                || super::super::kusto::named_after_first_argument(&function.text);
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
