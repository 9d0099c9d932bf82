//! Talking to the person at the terminal: results on stdout, progress, warnings, hints
//! and errors on stderr, questions, and the text forms of what the commands report.

pub mod printer;
pub mod progress;
pub mod report;
pub mod secret_input;

pub use printer::Printer;
