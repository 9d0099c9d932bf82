//! One module per command: each takes the resolved settings and its own arguments, does
//! its work, reports through the printer, and returns its exit status. `run` is the one
//! entry point `main` calls.

pub mod completions;
pub mod dead_letters;
pub mod deploy;
pub mod dev;
pub mod doctor;
pub mod link;
pub mod linked;
pub mod package;
pub mod reconcile;
pub mod remove;
pub mod replay;
pub mod rotate_secret;
pub mod rules;
pub mod set_secret;
pub mod status;
pub mod tail;
pub mod template;
pub mod test_event;
pub mod trace;
pub mod verify;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Command;
use crate::settings::GlobalSettings;
use crate::ui::Printer;

/// How a command ended, as the shell sees it. Usage errors (2) are clap's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: it did what was asked.
    Success,
    /// 1: it ran, and the answer is no (a signature that does not verify), or a user or
    /// deploy failure.
    Failure,
    /// 130: stopped by Ctrl-C (SIGINT), as shells report it.
    Interrupted,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Interrupted => ExitCode::from(130),
        }
    }
}

/// Runs `command`.
pub async fn run(
    command: &Command,
    settings: &GlobalSettings,
    printer: Printer,
) -> Result<ExitStatus> {
    match command {
        Command::Template(args) => template::run(args, printer.format),
        Command::Package(args) => package::run(args, printer),
        Command::Deploy(args) => deploy::run(settings, args, printer).await,
        Command::AddRule(args) => rules::add(settings, args, printer).await,
        Command::ListRules => rules::list(settings, printer).await,
        Command::RemoveRule(args) => rules::remove(settings, args, printer).await,
        Command::SetSecret(args) => set_secret::run(settings, args, printer).await,
        Command::Replay(args) => replay::run(settings, args, printer).await,
        Command::DeadLetters(args) => dead_letters::run(settings, args, printer).await,
        Command::Remove(args) => remove::run(settings, args, printer).await,
        Command::Dev(args) => dev::run(settings, args, printer).await,
        Command::Tail(args) => tail::run(settings, args, printer).await,
        Command::Trace(args) => trace::run(settings, args, printer).await,
        Command::Test(args) => test_event::run(settings, args, printer).await,
        Command::Status => status::run(settings, printer).await,
        Command::Doctor => doctor::run(settings, printer).await,
        Command::Verify(args) => verify::run(args, printer),
        Command::Link(args) => link::run(settings, args, printer).await,
        Command::RotateSecret(args) => rotate_secret::run(settings, args, printer).await,
        Command::Reconcile(args) => reconcile::run(settings, args, printer).await,
        Command::Completions(args) => completions::run(args),
    }
}
