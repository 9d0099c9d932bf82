//! Where output goes: results on stdout (text or JSON, as `--output` says), progress and
//! messages on stderr (none with `--quiet`, more with `--verbose`), `warning:` lines
//! (always) and `hint:` lines, errors as one line plus their hints, and questions.
//! `--quiet` drops progress and chatter only: a warning and the answer the command was
//! run for stay.

use std::fmt::Display;
use std::io::IsTerminal;

use anyhow::Result;
use aws_smithy_types::error::ErrorMetadata;
use serde::Serialize;

use crate::hint::Hinted;
use crate::settings::{OutputFormat, OutputSettings};

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: bool,
}

impl Printer {
    pub fn new(settings: OutputSettings) -> Self {
        Self {
            format: settings.format,
            quiet: settings.quiet,
            verbose: settings.verbose,
        }
    }

    /// A progress or status line, for people.
    pub fn status(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", message.as_ref());
        }
    }

    /// Detail only `--verbose` asks for.
    pub fn detail(&self, message: impl AsRef<str>) {
        if self.verbose {
            eprintln!("{}", message.as_ref());
        }
    }

    /// Something the person should know although the command goes on: printed even
    /// with `--quiet`.
    pub fn warning(&self, message: impl AsRef<str>) {
        labelled(WARNING, "warning", message.as_ref());
    }

    /// What to do next, or about a warning.
    pub fn hint(&self, message: impl AsRef<str>) {
        if !self.quiet {
            labelled(HINT, "hint", message.as_ref());
        }
    }

    /// The command's result, the answer it was run for (even with `--quiet`): its text
    /// form for people, or its JSON form for scripts.
    pub fn result<T: Serialize + Display>(&self, value: &T) {
        match self.format {
            // Styled where the terminal takes colour; anstream strips it elsewhere.
            OutputFormat::Text => anstream::println!("{value}"),
            OutputFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(value).expect("a result serialises")
            ),
        }
    }

    /// One record of a stream of results (as `dev` prints one per request): a line of
    /// text, or one JSON object per line (JSON Lines).
    pub fn record<T: Serialize + Display>(&self, value: &T) {
        match self.format {
            // Styled where the terminal takes colour; anstream strips it elsewhere.
            OutputFormat::Text => anstream::println!("{value}"),
            OutputFormat::Json => println!(
                "{}",
                serde_json::to_string(value).expect("a record serialises")
            ),
        }
    }

    /// An error that ends the command: one line naming it, then its hints. Always
    /// printed, even with `--quiet`.
    pub fn error(&self, error: &anyhow::Error) {
        let (line, hints) = error_lines(error);
        labelled(ERROR, "error", &line);
        for hint in hints {
            labelled(HINT, "hint", &hint);
        }
    }
}

/// clap's own styles for its `error:` and `tip:` labels.
const ERROR: anstyle::Style = anstyle::AnsiColor::Red.on_default().bold();
const WARNING: anstyle::Style = anstyle::AnsiColor::Yellow.on_default().bold();
const HINT: anstyle::Style = anstyle::AnsiColor::Green.on_default();

/// `label: message` on stderr, the label styled where the terminal takes colour
/// (anstream strips it elsewhere, and with NO_COLOR, as clap does).
fn labelled(style: anstyle::Style, label: &str, message: &str) {
    anstream::eprintln!("{style}{label}:{style:#} {message}");
}

/// The SDK's own layers name where an error happened, not what it was: "dispatch
/// failure", "service error". With a cause under them they say nothing more.
const WRAPPERS: &[&str] = &[
    "dispatch failure",
    "service error",
    "response error",
    "timeout",
    "io error",
    "other",
    "unhandled error",
    "failed to construct request",
    // hyper's, around the operating system's reason (connection refused, …).
    "client error (Connect)",
    "tcp connect error",
];

/// An error as one line (its messages joined by ": ", without the SDK's wrapper words
/// or repeats), and the hints anywhere in its chain.
pub fn error_lines(error: &anyhow::Error) -> (String, Vec<String>) {
    let chain: Vec<String> = error
        .chain()
        .map(|e| match e.downcast_ref::<ErrorMetadata>() {
            Some(metadata) => aws_reason(metadata),
            None => first_line(&e.to_string()),
        })
        .collect();
    let mut parts: Vec<&str> = Vec::new();
    for (i, message) in chain.iter().enumerate() {
        let last = i + 1 == chain.len();
        // "unhandled error (AccessDenied)": the code, which the reason under it repeats.
        let wrapper = (WRAPPERS.contains(&message.as_str())
            || message.starts_with("unhandled error ("))
            && !last;
        let repeated = parts.last().is_some_and(|p| p.contains(message.as_str()));
        if !wrapper && !repeated && !message.is_empty() {
            parts.push(message);
        }
    }
    // A hint added as context is found by anyhow's own downcast (which looks through
    // the layers of context); one made as an error stands in the chain itself.
    let mut hints: Vec<String> = Vec::new();
    let found = error
        .downcast_ref::<Hinted>()
        .into_iter()
        .chain(error.chain().filter_map(|e| e.downcast_ref::<Hinted>()));
    for hinted in found {
        if !hints.contains(&hinted.hint) {
            hints.push(hinted.hint.clone());
        }
    }
    (parts.join(": "), hints)
}

/// What AWS said, as `CODE: message`. The SDK shows an error it has no type for as its
/// metadata (`Error { code: …, message: …, aws_request_id: … }`), and with neither a
/// code nor a message (an HTTP HEAD's refusal has no body) only the request id.
fn aws_reason(metadata: &ErrorMetadata) -> String {
    match (metadata.code(), metadata.message()) {
        (Some(code), Some(message)) => format!("{code}: {}", first_line(message)),
        (Some(code), None) => code.to_owned(),
        (None, Some(message)) => first_line(message),
        (None, None) => match metadata.extra("aws_request_id") {
            Some(id) => format!("AWS gave no reason (request id {id})"),
            None => "AWS gave no reason".to_owned(),
        },
    }
}

/// The first line of a message: the SDK's credential chain lists every provider it
/// tried on lines of their own, after "Attempted:".
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim_end();
    line.strip_suffix(" Attempted:")
        .unwrap_or(line)
        .trim_end_matches(['.', ':'])
        .to_owned()
}

/// Fails at once, before anything is changed, if a question will have nobody to answer.
pub fn check_can_ask(skip_flag: &str) -> Result<()> {
    if !can_ask() {
        return Err(crate::hint::hinted(
            "this command asks before it changes anything, and there is no terminal to ask on",
            format!("run it from one, or {skip_flag}"),
        ));
    }
    Ok(())
}

/// Whether there is a terminal to ask on.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal()
}

/// `confirmed`, waiting for the answer off the async runtime's thread, so that Ctrl-C at
/// the prompt reaches a `tokio::signal::ctrl_c` the caller awaits beside it.
pub async fn ask(question: &str) -> Result<bool> {
    let question = question.to_owned();
    tokio::task::spawn_blocking(move || confirmed(&question)).await?
}

/// Asks on the terminal (call `check_can_ask` first).
pub fn confirmed(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hint::{WithHint, hinted};

    /// An error the SDK has no type for shows what AWS said, not the metadata's dump.
    #[test]
    fn an_untyped_aws_error_says_what_aws_said() {
        let denied = ErrorMetadata::builder()
            .code("AccessDenied")
            .message("Access Denied")
            .custom("aws_request_id", "req-1")
            .build();
        let error = anyhow::Error::new(denied).context("cannot list the objects in b");
        assert_eq!(
            error_lines(&error).0,
            "cannot list the objects in b: AccessDenied: Access Denied"
        );
        let silent = ErrorMetadata::builder()
            .custom("aws_request_id", "req-2")
            .build();
        let error = anyhow::Error::new(silent).context("cannot check bucket b");
        assert_eq!(
            error_lines(&error).0,
            "cannot check bucket b: AWS gave no reason (request id req-2)"
        );
    }

    #[test]
    fn an_error_is_one_line_without_the_sdks_wrappers_and_its_hints_follow() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = Err::<(), _>(anyhow::Error::new(io).context("dispatch failure"))
            .with_hint("cannot reach AWS", "check --endpoint-url")
            .unwrap_err();
        assert_eq!(
            error_lines(&error),
            (
                "cannot reach AWS: connection refused".to_owned(),
                vec!["check --endpoint-url".to_owned()]
            )
        );
        let chain = anyhow::anyhow!(
            "no credentials found in chain. Attempted:\n  Environment: not set\n  Profile: not set"
        );
        assert_eq!(error_lines(&chain).0, "no credentials found in chain");
        let alone = hinted("no bridge live", "deploy it");
        assert_eq!(
            error_lines(&alone),
            ("no bridge live".to_owned(), vec!["deploy it".to_owned()])
        );
    }
}
