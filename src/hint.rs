//! Errors that say what to do: the message names the problem, and the hint, printed on
//! its own `hint:` line (as cargo and uv do), names the fix. Any layer can make one; the
//! printer finds the hints anywhere in an error's chain.

use std::fmt;

/// An error message with the step that fixes it.
#[derive(Debug)]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// A new error: `message`, fixed by `hint`.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted {
        message: message.into(),
        hint: hint.into(),
    })
}

/// Adds a message and its fix on top of an error, keeping it as the cause.
pub trait WithHint<T> {
    fn with_hint(self, message: impl Into<String>, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E> WithHint<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn with_hint(self, message: impl Into<String>, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| {
            e.into().context(Hinted {
                message: message.into(),
                hint: hint.into(),
            })
        })
    }
}
