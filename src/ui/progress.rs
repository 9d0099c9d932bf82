//! `Updating stack NAME (n/total)`: a bar on a terminal, one plain line per stack event
//! otherwise, and nothing with `--quiet`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::aws::stack::StackEvent;
use crate::ui::Printer;
use crate::ui::report::event_line;

pub struct Progress {
    bar: Option<ProgressBar>,
    printer: Printer,
}

/// `⠋ Building the relay … 1m 12s` on a terminal, for a wait with nothing to count;
/// elsewhere the message once; nothing with `--quiet`.
pub struct Spinner {
    bar: Option<ProgressBar>,
    printer: Printer,
}

impl Spinner {
    pub fn new(printer: &Printer, message: &str) -> Self {
        let bar = (!printer.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .expect("a valid template"),
            );
            bar.set_message(message.to_owned());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            printer.status(message);
        }
        Self {
            bar,
            printer: *printer,
        }
    }

    /// A status line above the spinner.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => self.printer.status(line),
        }
    }

    /// Leaves the message, with the time it took.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
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
            printer.status(if total > 0 {
                format!("{verb} stack {name} ({total} resources)")
            } else {
                format!("{verb} stack {name}")
            });
        }
        Self {
            bar,
            printer: *printer,
        }
    }

    pub fn event(&self, event: &StackEvent) {
        let line = event_line(event);
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

/// `Replaying NAME [=====>    ] 42%`: how far a replay is through its window, on a
/// terminal; elsewhere one line when it starts.
pub struct ReplayProgress {
    bar: Option<ProgressBar>,
}

impl ReplayProgress {
    pub fn new(printer: &Printer, name: &str) -> Self {
        let bar = (!printer.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(1000);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {percent}% {elapsed}")
                    .expect("a valid template"),
            );
            bar.set_message(format!("Replaying {name}"));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            printer.status(format!("Replaying {name}"));
        }
        Self { bar }
    }

    /// `fraction` of the window is done (0 to 1).
    pub fn set(&self, fraction: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position((fraction * 1000.0) as u64);
        }
    }

    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `Resending [=====>    ] 12/40` on a terminal, for a count of like steps; elsewhere
/// the message once; nothing with `--quiet`.
pub struct Counter {
    bar: Option<ProgressBar>,
}

impl Counter {
    pub fn new(printer: &Printer, message: &str, total: usize) -> Self {
        let bar = (!printer.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(message.to_owned());
            bar
        });
        if bar.is_none() {
            printer.status(format!("{message} ({total})"));
        }
        Self { bar }
    }

    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
