//! Where output goes: results on stdout (text or JSON, as `--output` says), progress and
//! messages on stderr (none with `--quiet`, more with `--verbose`).

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
