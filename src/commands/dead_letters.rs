//! `dead-letters`: what the bridge's rules could not deliver, and `--redeliver` to
//! deliver it again.
//!
//! Redelivery is a replay from the archive, to the dead letter's own rule only
//! (`FilterArns`), of a window that covers the event's time. So the event goes through
//! the rule as it is now (its pattern, target, input and retries) and reaches no other
//! consumer. Events near in time to the same rule share one replay, which may also
//! deliver again events of that window that were delivered the first time: consumers
//! de-duplicate on `detail.id`, as they must for Stripe's own retries. The messages are
//! held out of sight while their replay runs, deleted once it has COMPLETED, and given
//! back to the queue if it did not: nothing is deleted that was not delivered again. A
//! letter whose event the archive cannot hold (it reached the bus before the archive
//! was made, or less than the archive delay ago) is not replayed, and stays, with why.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde::Serialize;

use super::ExitStatus;
use super::replay::{bridge_archive, replay_to};
use crate::aws::bridge::Bridge;
use crate::aws::dead_letters::{DeadLetter, DeadLetters};
use crate::aws::propagation;
use crate::aws::replays::{self, Archive, Window};
use crate::aws::rules::{Lookup, Rules, naming};
use crate::cli::DeadLettersArgs;
use crate::settings::GlobalSettings;
use crate::ui::Printer;
use crate::ui::printer::error_lines;

/// How long listing keeps messages out of sight before giving them back.
const LOOK: Duration = Duration::from_secs(30);
/// How long redelivery keeps messages out of sight: longer than a replay of a short
/// window takes. Messages whose replay outlasts it only become visible again.
const HOLD: Duration = Duration::from_secs(2 * 3600);
/// Events to one rule less than this apart are redelivered by one replay.
const JOIN_GAP: Duration = Duration::from_secs(300);

#[derive(Debug, Serialize)]
pub struct DeadLetterList {
    pub queue_url: String,
    pub dead_letters: Vec<DeadLetter>,
}

impl fmt::Display for DeadLetterList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dead_letters.is_empty() {
            return write!(f, "No dead letters: every target took what it was given.");
        }
        let or = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let lines: Vec<String> = self
            .dead_letters
            .iter()
            .map(|d| {
                if d.rule.is_none() && d.event_id.is_none() {
                    return format!(
                        "message {}: not a dead letter EventBridge wrote (it names no rule and holds no Stripe event); --redeliver leaves it",
                        d.message_id
                    );
                }
                format!(
                    "{}  {}  {}  {}  {}  {}: {}",
                    or(&d.time),
                    or(&d.rule),
                    or(&d.target),
                    or(&d.event_id),
                    or(&d.event_type),
                    or(&d.error_code),
                    or(&d.error_message)
                )
            })
            .collect();
        write!(f, "{}", lines.join("\n"))
    }
}

#[derive(Debug, Serialize)]
pub struct Redelivered {
    pub redelivered: usize,
    /// Left in the queue, each with why.
    pub kept: Vec<Kept>,
    pub replays: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Kept {
    pub message_id: String,
    pub event_id: Option<String>,
    pub why: String,
}

impl fmt::Display for Redelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Redelivered {} dead letter(s) through {} replay(s); {} kept in the queue.",
            self.redelivered,
            self.replays.len(),
            self.kept.len()
        )?;
        for kept in &self.kept {
            write!(
                f,
                "\n  kept {} ({}): {}",
                kept.message_id,
                kept.event_id.as_deref().unwrap_or("no event id"),
                kept.why
            )?;
        }
        Ok(())
    }
}

pub async fn run(
    settings: &GlobalSettings,
    args: &DeadLettersArgs,
    printer: Printer,
) -> Result<ExitStatus> {
    let bridge = Bridge::find(settings).await?;
    let queue_url = bridge.output("DeadLetterQueueUrl")?.to_owned();
    let queue = DeadLetters::new(&bridge.ctx.sdk, &queue_url);
    if !args.redeliver {
        let dead_letters = queue.take(LOOK).await?;
        queue.release(&dead_letters).await?;
        printer.result(&DeadLetterList {
            queue_url,
            dead_letters,
        });
        return Ok(ExitStatus::Success);
    }
    // Everything redelivery needs is read before any message is held out of sight;
    // after that, an AWS error keeps a letter (given back at once), and ends nothing
    // early, so no message stays hidden for the rest of its hold.
    let archive = bridge_archive(&bridge).await?;
    let bus = BridgeBus {
        name: bridge.output("EventBusName")?,
        arn: bridge.output("EventBusArn")?,
    };
    let letters = queue.take(HOLD).await?;
    let redelivered = redeliver(&bridge, &bus, &archive, &queue, letters, printer).await?;
    let all_done = redelivered.kept.is_empty();
    printer.result(&redelivered);
    Ok(if all_done {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The bridge's bus, as its stack's outputs name it.
struct BridgeBus<'a> {
    name: &'a str,
    arn: &'a str,
}

async fn redeliver(
    bridge: &Bridge,
    bus: &BridgeBus<'_>,
    archive: &Archive,
    queue: &DeadLetters,
    letters: Vec<DeadLetter>,
    printer: Printer,
) -> Result<Redelivered> {
    let rules = Rules::new(&bridge.ctx.sdk, bus.name, &bridge.name);
    let mut result = Redelivered {
        redelivered: 0,
        kept: Vec::new(),
        replays: Vec::new(),
    };
    let mut keep = Vec::new();
    let mut by_rule: BTreeMap<String, Vec<(SystemTime, DeadLetter)>> = BTreeMap::new();
    // A letter is deleted only once a replay provably covered it: its event's time in
    // the window of a replay that COMPLETED, and old enough to be in the archive.
    let (now, delay) = (SystemTime::now(), propagation::archive());
    for letter in letters {
        match (letter.rule.clone(), letter.event_time()) {
            (Some(rule), Some(time))
                if letter.rule_arn.as_deref()
                    == Some(naming::rule_arn(bus.arn, &rule).as_str()) =>
            {
                match replays::not_replayable(time, archive, now, delay) {
                    Some(why) => keep.push((letter, why)),
                    None => by_rule.entry(rule).or_default().push((time, letter)),
                }
            }
            (Some(_), Some(_)) => {
                keep.push((letter, "its rule is not on the bridge's bus".to_owned()));
            }
            _ => keep.push((letter, "it names no rule or event time".to_owned())),
        }
    }
    for (rule, mut letters) in by_rule {
        let why = match rules.lookup(&rule).await {
            Ok(Lookup::Ours(_)) => None,
            Ok(_) => Some(format!("rule {rule} is no longer one of the bridge's")),
            Err(error) => Some(error_lines(&error).0),
        };
        if let Some(why) = why {
            keep.extend(letters.into_iter().map(|(_, l)| (l, why.clone())));
            continue;
        }
        letters.sort_by_key(|(time, _)| *time);
        for group in groups(letters) {
            let from = group[0].0;
            // The window's end is exclusive: one second past the last event's time.
            let to = group[group.len() - 1].0 + Duration::from_secs(1);
            let group: Vec<DeadLetter> = group.into_iter().map(|(_, l)| l).collect();
            let replayed = replay_to(
                bridge,
                archive,
                Window { from, to },
                std::slice::from_ref(&rule),
                true,
                printer,
            )
            .await;
            match replayed {
                Ok(replayed) if replayed.replay.state == "COMPLETED" => {
                    match queue.delete(&group).await {
                        Ok(()) => result.redelivered += group.len(),
                        Err(error) => {
                            let why = format!(
                                "replay {} delivered it again, but {}: another --redeliver \
                                 would deliver it once more",
                                replayed.replay.name,
                                error_lines(&error).0
                            );
                            keep.extend(group.into_iter().map(|l| (l, why.clone())));
                        }
                    }
                    result.replays.push(replayed.replay.name);
                }
                Ok(replayed) => {
                    let why = format!(
                        "replay {} ended {}",
                        replayed.replay.name, replayed.replay.state
                    );
                    keep.extend(group.into_iter().map(|l| (l, why.clone())));
                }
                Err(error) => {
                    let why = error_lines(&error).0;
                    keep.extend(group.into_iter().map(|l| (l, why.clone())));
                }
            }
        }
    }
    let kept: Vec<DeadLetter> = keep.iter().map(|(l, _)| l.clone()).collect();
    queue.release(&kept).await?;
    result.kept = keep
        .into_iter()
        .map(|(letter, why)| Kept {
            message_id: letter.message_id,
            event_id: letter.event_id,
            why,
        })
        .collect();
    Ok(result)
}

/// Splits time-ordered letters where the gap between two is over `JOIN_GAP`.
fn groups<T>(sorted: Vec<(SystemTime, T)>) -> Vec<Vec<(SystemTime, T)>> {
    let mut groups: Vec<Vec<(SystemTime, T)>> = Vec::new();
    for (time, item) in sorted {
        let joins = groups
            .last()
            .and_then(|g| g.last())
            .is_some_and(|(last, _)| time.duration_since(*last).unwrap_or_default() <= JOIN_GAP);
        if joins {
            groups.last_mut().expect("joins a group").push((time, item));
        } else {
            groups.push(vec![(time, item)]);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_close_in_time_share_a_replay() {
        let t = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let grouped = groups(vec![
            (t(0), 'a'),
            (t(100), 'b'),
            (t(400), 'c'),
            (t(1000), 'd'),
        ]);
        let letters: Vec<Vec<char>> = grouped
            .iter()
            .map(|g| g.iter().map(|(_, c)| *c).collect())
            .collect();
        assert_eq!(letters, [vec!['a', 'b', 'c'], vec!['d']]);
    }
}
