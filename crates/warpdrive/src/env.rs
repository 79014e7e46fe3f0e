//! Settings from the environment, refused when they do not parse.

/// A setting in the environment that does not parse: the variable, what
/// it held and what it accepts. A mistyped setting is refused rather than
/// ignored, so a benchmark or a forced mode never runs with defaults
/// nobody asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?}: expected {expected}")]
pub struct EnvError {
    /// The variable (`WD_ENGINES`).
    pub var: &'static str,
    /// What it held.
    pub value: String,
    /// What it accepts.
    pub expected: &'static str,
}

/// The value of `var`, `None` when unset or empty (`VAR= cmd` is the
/// shell's way to unset a variable for one command).
pub(crate) fn env_value(var: &'static str) -> Result<Option<String>, EnvError> {
    match std::env::var(var) {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => {
            Err(EnvError { var, value: v.to_string_lossy().into_owned(), expected: "UTF-8 text" })
        }
    }
}

/// `var` as a whole number in `lo..=hi`.
pub(crate) fn env_u64(var: &'static str, lo: u64, hi: u64, expected: &'static str) -> Result<Option<u64>, EnvError> {
    let Some(v) = env_value(var)? else { return Ok(None) };
    match v.trim().parse::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
        _ => Err(EnvError { var, value: v, expected }),
    }
}
