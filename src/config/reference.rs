//! References to secrets kept outside the configuration file: `${env:NAME}` (an environment variable) and
//! `${file:/path}` (a file's content, without its trailing line break; a relative path is resolved against the
//! configuration's directory). This file finds and resolves them; it never puts a resolved value into an
//! error message, and it leaves positions to the YAML reader (offsets here are in characters of the value).

use std::path::Path;

/// Where references are resolved from. The environment is a function so that tests need not change the
/// process environment.
pub struct Resolver<'a> {
    pub environment: &'a dyn Fn(&str) -> Option<String>,
    pub base_dir: &'a Path,
    /// Whether a reference to a secret that is not available here (a variable not set, a file not readable) is
    /// allowed: for commands that check or show a configuration without sending anything (`validate`, `test`),
    /// so that a playbook repository's CI needs no production secret. Such a reference resolves to nothing and
    /// is listed in `Resolved::unavailable`; a malformed one is an error all the same.
    pub allow_unavailable: bool,
}

/// A value with its references replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub text: String,
    /// Whether the value used at least one reference (a secret written literally did not).
    pub used_reference: bool,
    /// The references that were not available here (only when the resolver allows it): where, and why.
    pub unavailable: Vec<ReferenceError>,
}

/// A reference that could not be resolved: the character range of `${...}` in the value, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// Replaces every `${env:NAME}` and `${file:PATH}` in `value`; every reference that fails is reported.
pub fn resolve(value: &str, resolver: &Resolver) -> Result<Resolved, Vec<ReferenceError>> {
    let mut text = String::new();
    let mut errors = Vec::new();
    let mut used_reference = false;
    let mut unavailable_here = Vec::new();
    let mut rest = value;
    let mut offset = 0; // characters of `value` before `rest`
    while let Some(start) = rest.find("${") {
        text.push_str(&rest[..start]);
        let start_chars = offset + rest[..start].chars().count();
        let Some(length) = rest[start..].find('}') else {
            let end = start_chars + rest[start..].chars().count();
            errors.push(ReferenceError {
                start: start_chars,
                end,
                message: "`${` is not closed".to_string(),
                hint: Some("write ${env:NAME} or ${file:/path}".to_string()),
            });
            rest = "";
            break;
        };
        let inner = &rest[start + 2..start + length];
        let end_chars = start_chars + rest[start..=start + length].chars().count();
        used_reference = true;
        match resolve_one(inner, resolver) {
            Ok(resolved) => text.push_str(&resolved),
            Err(Failure { message, hint, unavailable }) => {
                let error = ReferenceError { start: start_chars, end: end_chars, message, hint };
                if unavailable && resolver.allow_unavailable {
                    unavailable_here.push(error);
                } else {
                    errors.push(error);
                }
            }
        }
        offset = end_chars;
        rest = &rest[start + length + 1..];
    }
    text.push_str(rest);
    if errors.is_empty() { Ok(Resolved { text, used_reference, unavailable: unavailable_here }) } else { Err(errors) }
}

/// Why a reference did not resolve; `unavailable` when it is well-formed but its secret is not here.
struct Failure {
    message: String,
    hint: Option<String>,
    unavailable: bool,
}

fn malformed(message: String, hint: Option<String>) -> Failure {
    Failure { message, hint, unavailable: false }
}

fn unavailable(message: String, hint: Option<String>) -> Failure {
    Failure { message, hint, unavailable: true }
}

fn resolve_one(inner: &str, resolver: &Resolver) -> Result<String, Failure> {
    let (kind, name) = inner.split_once(':').unwrap_or((inner, ""));
    match kind.trim() {
        "env" => {
            let name = name.trim();
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(malformed(
                    format!("`{name}` is not an environment variable name"),
                    Some("names are letters, digits and `_`, such as ${env:HUNTBOOK_SMTP_PASSWORD}".to_string()),
                ));
            }
            match (resolver.environment)(name) {
                Some(value) if !value.is_empty() => Ok(value),
                Some(_) => Err(unavailable(format!("the environment variable {name} is empty"), None)),
                None => Err(unavailable(
                    format!("the environment variable {name} is not set"),
                    Some(format!("set {name}, or read the secret from a file with ${{file:/path}}")),
                )),
            }
        }
        "file" => {
            let path = name.trim();
            if path.is_empty() {
                return Err(malformed(
                    "`${file:}` names no file".to_string(),
                    Some("write ${file:/path/to/secret}".to_string()),
                ));
            }
            let full = resolver.base_dir.join(path);
            match std::fs::read_to_string(&full) {
                Ok(content) => {
                    let value = content.trim_end_matches(['\n', '\r']).to_string();
                    if value.is_empty() {
                        Err(unavailable(format!("the secret file {} is empty", full.display()), None))
                    } else {
                        Ok(value)
                    }
                }
                Err(error) => {
                    Err(unavailable(format!("cannot read the secret file {}: {error}", full.display()), None))
                }
            }
        }
        other => Err(malformed(
            format!("unknown reference `${{{inner}}}`"),
            Some(if other.is_empty() {
                "write ${env:NAME} or ${file:/path}".to_string()
            } else {
                format!("`{other}` is not a source of secrets: write ${{env:NAME}} or ${{file:/path}}")
            }),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(name: &str) -> Option<String> {
        match name {
            "PASSWORD" => Some("hunter2".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn run(value: &str) -> Result<Resolved, Vec<ReferenceError>> {
        resolve(
            value,
            &Resolver { environment: &environment, base_dir: Path::new("/nonexistent"), allow_unavailable: false },
        )
    }

    #[test]
    fn replaces_environment_variables_anywhere_in_a_value() {
        let resolved = |text: &str, used_reference| {
            Ok(Resolved { text: text.to_string(), used_reference, unavailable: Vec::new() })
        };
        assert_eq!(run("a${env:PASSWORD}b"), resolved("ahunter2b", true));
        assert_eq!(run("plain"), resolved("plain", false));
    }

    #[test]
    fn reads_files_without_their_trailing_newline() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("secret"), "s3cret\n").expect("write");
        let resolver = Resolver { environment: &environment, base_dir: dir.path(), allow_unavailable: false };
        assert_eq!(resolve("${file:secret}", &resolver).map(|r| r.text), Ok("s3cret".to_string()));
    }

    #[test]
    fn names_what_is_missing_with_character_positions() {
        let errors = run("é${env:NOPE} ${env:EMPTY} ${vault:x} ${env:").expect_err("fails");
        let summary: Vec<(usize, usize, &str)> = errors.iter().map(|e| (e.start, e.end, e.message.as_str())).collect();
        assert_eq!(
            summary,
            [
                (1, 12, "the environment variable NOPE is not set"),
                (13, 25, "the environment variable EMPTY is empty"),
                (26, 36, "unknown reference `${vault:x}`"),
                (37, 43, "`${` is not closed"),
            ]
        );
        assert!(errors.iter().all(|e| !e.message.contains("hunter2")));
    }

    #[test]
    fn a_secret_not_here_is_listed_when_allowed_and_a_wrong_reference_never_is() {
        let resolver =
            Resolver { environment: &environment, base_dir: Path::new("/nonexistent"), allow_unavailable: true };
        let resolved = resolve("x${env:NOPE}y${file:gone}z", &resolver).expect("allowed");
        assert_eq!(resolved.text, "xyz");
        let said: Vec<&str> = resolved.unavailable.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(said.len(), 2, "{said:?}");
        assert_eq!(said[0], "the environment variable NOPE is not set");
        assert!(said[1].starts_with("cannot read the secret file /nonexistent/gone"), "{said:?}");
        assert!(resolve("${env:EMPTY}", &resolver).is_ok_and(|r| r.unavailable.len() == 1));
        for wrong in ["${vault:x}", "${env:bad-name}", "${file:}", "${env:X"] {
            assert!(resolve(wrong, &resolver).is_err(), "{wrong}");
        }
    }
}
