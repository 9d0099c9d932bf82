//! Where output goes: results on stdout (text or JSON, as `--output` says), progress and
//! messages on stderr (none with `--quiet`, more with `--verbose`), and questions.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::cli::{GlobalArgs, OutputFormat};

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        Self {
            format: global.output,
            quiet: global.quiet,
            verbose: global.verbose,
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

    /// The command's result: `text` for people, or `json` for scripts.
    pub fn result(&self, text: impl AsRef<str>, json: Value) {
        match self.format {
            OutputFormat::Text => println!("{}", text.as_ref()),
            OutputFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(&json).expect("JSON serialises")
            ),
        }
    }
}

/// A Unix time as people and scripts read it: `2026-11-29T05:00:00Z`.
pub fn rfc3339(secs: i64) -> String {
    aws_sdk_cloudformation::primitives::DateTime::from_secs(secs)
        .fmt(aws_sdk_cloudformation::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// Fails at once, before anything is changed, if a question will have nobody to answer.
pub fn check_can_ask(skip_flag: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "this command asks before it changes anything, and there is no terminal to ask on; \
             run it from one, or {skip_flag}"
        );
    }
    Ok(())
}

/// Asks on the terminal (call `check_can_ask` first).
pub fn confirmed(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// `Updating stack NAME (n/total)` as a bar on a terminal, one plain line per event
/// otherwise; nothing with `--quiet`.
pub struct Progress {
    bar: Option<ProgressBar>,
    printer: Printer,
}

impl Progress {
    pub fn new(printer: &Printer, verb: &str, name: &str, total: usize) -> Self {
        let bar = (!printer.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({pos}/{len}) {elapsed}")
                    .expect("a valid template"),
            );
            bar.set_message(format!("{verb} stack {name}"));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            printer.status(format!("{verb} stack {name} ({total} resources)"));
        }
        Self {
            bar,
            printer: *printer,
        }
    }

    pub fn event(&self, event: &crate::report::StackEvent) {
        let line = crate::report::event_line(event);
        match &self.bar {
            Some(bar) => {
                if event.status.ends_with("_COMPLETE")
                    && event.resource_type != "AWS::CloudFormation::Stack"
                {
                    bar.inc(1);
                }
                bar.println(line);
            }
            None => self.printer.status(line),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
