//! `replay`: deliver archived events again, from the bridge's archive to its bus, to
//! the bridge's rules or the ones named. `add-rule --backfill` and `dead-letters
//! --redeliver` replay through `replay_to` too.

use std::fmt;
use std::io::IsTerminal;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use serde::Serialize;

use super::ExitStatus;
use crate::aws::bridge::Bridge;
use crate::aws::propagation;
use crate::aws::replays::{self, Archive, Replay, Replays, Window};
use crate::aws::rules::{Lookup, Rules, naming};
use crate::cli::ReplayArgs;
use crate::hint::{self, hinted};
use crate::settings::GlobalSettings;
use crate::ui::Printer;
use crate::ui::printer::confirmed;
use crate::ui::progress::ReplayProgress;

/// How often a replay's progress is read while waiting.
const POLL: Duration = Duration::from_secs(2);

/// What one replay did.
#[derive(Debug, Serialize)]
pub struct Replayed {
    #[serde(flatten)]
    pub replay: Replay,
    pub rules: Vec<String>,
    /// How long stripe-bridge followed it (0 with --no-wait).
    pub elapsed_seconds: f64,
}

impl fmt::Display for Replayed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.replay;
        writeln!(f, "Replay {}: {}", r.name, r.state)?;
        writeln!(f, "  window  {}", window_text(r))?;
        writeln!(f, "  rules   {}", self.rules.join(", "))?;
        if let Some(reason) = &r.reason {
            writeln!(f, "  reason  {reason}")?;
        }
        write!(f, "  took    {:.1} s", self.elapsed_seconds)
    }
}

/// `replay --list`.
#[derive(Debug, Serialize)]
pub struct ReplayList {
    pub replays: Vec<Replay>,
}

impl fmt::Display for ReplayList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.replays.is_empty() {
            return write!(f, "No replays yet.");
        }
        let width = self.replays.iter().map(|r| r.name.len()).max().unwrap_or(4);
        let lines: Vec<String> = self
            .replays
            .iter()
            .map(|r| format!("{:<width$}  {:<10}  {}", r.name, r.state, window_text(r)))
            .collect();
        write!(f, "{}", lines.join("\n"))
    }
}

fn window_text(replay: &Replay) -> String {
    let show = |t: Option<SystemTime>| {
        t.map(|t| humantime::format_rfc3339_seconds(t).to_string())
            .unwrap_or_else(|| "?".into())
    };
    format!("{} to {}", show(replay.from), show(replay.to))
}

pub async fn run(
    settings: &GlobalSettings,
    args: &ReplayArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let bridge = Bridge::find(settings).await?;
    if args.list {
        let replays = Replays::new(&bridge.ctx.sdk)
            .list(&replays::replay_prefix(&bridge.name))
            .await?;
        printer.result(&ReplayList { replays });
        return Ok(ExitStatus::Success);
    }
    let now = SystemTime::now();
    let window = Window {
        from: args
            .from
            .expect("clap requires --from without --list")
            .resolve(now),
        to: args.to.map_or(now, |to| to.resolve(now)),
    };
    let rules = Rules::new(
        &bridge.ctx.sdk,
        bridge.output("EventBusName")?,
        &bridge.name,
    );
    let names = if args.rules.is_empty() {
        rules.list().await?.into_iter().map(|r| r.name).collect()
    } else {
        let mut names = Vec::new();
        for name in &args.rules {
            match rules.lookup(name).await? {
                Lookup::Ours(rule) => names.push(rule.name),
                Lookup::Absent => {
                    return Err(hinted(
                        format!("bridge {} has no rule {name}", bridge.name),
                        format!(
                            "see the bridge's rules with `{}`",
                            hint::command(&bridge.name, "list-rules")
                        ),
                    ));
                }
                Lookup::Foreign => {
                    return Err(hinted(
                        format!("rule {name} is not one of bridge {}'s", bridge.name),
                        format!(
                            "replay only to the rules `{}` shows",
                            hint::command(&bridge.name, "list-rules")
                        ),
                    ));
                }
            }
        }
        names
    };
    if names.is_empty() {
        return Err(hinted(
            format!("bridge {} has no rules to replay to", bridge.name),
            format!(
                "add one first with `{}`",
                hint::command(&bridge.name, "add-rule --type TYPE --target ARN")
            ),
        ));
    }
    let archive = bridge_archive(&bridge).await?;
    let settled = now - propagation::archive();
    if window.to > settled {
        printer.warning(format!(
            "the window reaches past {}: events that reached the bus since may not be in the archive yet (AWS archives them with a delay of minutes), and are not replayed",
            humantime::format_rfc3339_seconds(settled)
        ));
        printer.hint(format!(
            "to be sure of those, replay them again after {}",
            humantime::format_rfc3339_seconds(window.to + propagation::archive())
        ));
    }
    let replayed = replay_to(&bridge, &archive, window, &names, !args.no_wait, printer).await?;
    let ended_well = args.no_wait || replayed.replay.state == "COMPLETED";
    printer.result(&replayed);
    Ok(if ended_well {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The bridge's archive, as `replay_to` takes it.
pub async fn bridge_archive(bridge: &Bridge) -> Result<Archive> {
    Replays::new(&bridge.ctx.sdk)
        .archive(&bridge.name, bridge.output("ArchiveName")?)
        .await
}

/// Replays `window` of the bridge's `archive` to the rules `names` of its bus, and (if
/// `wait`) follows it to its end. The window is checked against the archive first.
pub async fn replay_to(
    bridge: &Bridge,
    archive: &Archive,
    window: Window,
    names: &[String],
    wait: bool,
    printer: Printer,
) -> Result<Replayed> {
    let started = Instant::now();
    let replays = Replays::new(&bridge.ctx.sdk);
    window.check(archive, SystemTime::now())?;
    let bus_arn = bridge.output("EventBusArn")?;
    let arns: Vec<String> = names
        .iter()
        .map(|name| naming::rule_arn(bus_arn, name))
        .collect();
    let name = replays::replay_name(&bridge.name, SystemTime::now());
    replays
        .start(&name, archive, bus_arn, window, &arns)
        .await?;
    let replay = if wait {
        follow(&replays, &name, &bridge.name, printer).await?
    } else {
        replays.describe(&name).await?
    };
    Ok(Replayed {
        replay,
        rules: names.to_vec(),
        elapsed_seconds: if wait {
            started.elapsed().as_secs_f64()
        } else {
            0.0
        },
    })
}

/// Follows replay `name` to its end. Ctrl-C asks whether to cancel it; without a
/// terminal to ask on, the replay goes on, and stripe-bridge says how to follow it.
async fn follow(replays: &Replays, name: &str, bridge: &str, printer: Printer) -> Result<Replay> {
    let progress = ReplayProgress::new(&printer, name);
    let mut cancelling = false;
    loop {
        let replay = replays.describe(name).await?;
        progress.set(replay.fraction_done());
        if replay.is_over() {
            progress.finish();
            return Ok(replay);
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = tokio::signal::ctrl_c(), if !cancelling => {
                if !std::io::stdin().is_terminal() {
                    progress.finish();
                    printer.warning(format!("replay {name} goes on without stripe-bridge watching"));
                    printer.hint(format!(
                        "follow it with `{}`",
                        hint::command(bridge, "replay --list")
                    ));
                    return Ok(replay);
                }
                let cancel = progress.suspend(|| {
                    confirmed(&format!("Cancel replay {name}? Events already replayed stay delivered."))
                })?;
                if cancel {
                    replays.cancel(name).await?;
                    cancelling = true;
                }
            }
        }
    }
}
