//! The bridge's event archive and replays from it (EventBridge's DescribeArchive,
//! StartReplay, DescribeReplay, CancelReplay and ListReplays).
//!
//! A replay sends the archived events whose time falls in a window back to the bus they
//! came from, to the rules named in `FilterArns` only. Each replayed event carries a
//! `replay-name` field; consumers de-duplicate on the Stripe event's id (`detail.id`).

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::{ReplayDestination, ReplayState};
use serde::Serialize;

use crate::hint::hinted;

/// Why the archive cannot hold an event of this time yet, or never did: one that
/// reached the bus before the archive was made, or less than `delay` before `now`, so
/// that it may not be archived yet (`propagation::archive()`). None when a replay of its
/// time provably covers it.
pub fn not_replayable(
    time: SystemTime,
    archive: &Archive,
    now: SystemTime,
    delay: Duration,
) -> Option<String> {
    let at = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    // An event's time has whole seconds: one of the archive's own second is not older.
    let seconds = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    };
    if seconds(time) < seconds(archive.created) {
        Some(format!(
            "its event reached the bus at {}, before the archive was made ({}): the archive never held it",
            at(time),
            at(archive.created)
        ))
    } else if time + delay > now {
        Some(format!(
            "its event reached the bus at {}, and EventBridge may not have archived it yet; redeliver it after {}",
            at(time),
            at(time + delay)
        ))
    } else {
        None
    }
}

/// What the archive holds.
#[derive(Debug, Clone, Serialize)]
pub struct Archive {
    pub name: String,
    #[serde(skip)]
    pub arn: String,
    pub state: String,
    #[serde(with = "humantime_serde_secs")]
    pub created: SystemTime,
    pub event_count: i64,
    pub size_bytes: i64,
    /// 0: kept forever.
    pub retention_days: i32,
}

/// The window of event times a replay covers: `from` up to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: SystemTime,
    pub to: SystemTime,
}

impl Window {
    /// Checks the window against the archive and the clock before anything starts: a
    /// replay can only bring back what the archive has had time to record.
    pub fn check(&self, archive: &Archive, now: SystemTime) -> Result<()> {
        let show = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
        if self.from > now {
            return Err(hinted(
                format!("--from {} is in the future", show(self.from)),
                "give a time before now, or how long ago (--from 3d)",
            ));
        }
        if self.from >= self.to {
            return Err(hinted(
                format!(
                    "the window is empty or reversed: --from {} is not before --to {}",
                    show(self.from),
                    show(self.to)
                ),
                "give --from an earlier time than --to",
            ));
        }
        if self.to > now + Duration::from_secs(60) {
            return Err(hinted(
                format!("--to {} is in the future", show(self.to)),
                "leave out --to to replay up to now",
            ));
        }
        // The archive's creation time is kept to the second; an event of that second is
        // in it.
        if self.from + Duration::from_secs(1) < archive.created {
            return Err(hinted(
                format!(
                    "--from {} is before the archive {} began, at {}: nothing older is kept",
                    show(self.from),
                    archive.name,
                    show(archive.created)
                ),
                format!("give --from {} or later", show(archive.created)),
            ));
        }
        Ok(())
    }
}

/// A replay as EventBridge reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    pub name: String,
    pub state: String,
    /// Why it ended as it did, when EventBridge says.
    pub reason: Option<String>,
    #[serde(with = "humantime_serde_secs::option")]
    pub from: Option<SystemTime>,
    #[serde(with = "humantime_serde_secs::option")]
    pub to: Option<SystemTime>,
    #[serde(with = "humantime_serde_secs::option")]
    pub started: Option<SystemTime>,
    #[serde(with = "humantime_serde_secs::option")]
    pub ended: Option<SystemTime>,
    /// The time of the last event replayed so far.
    #[serde(with = "humantime_serde_secs::option")]
    pub last_replayed: Option<SystemTime>,
}

impl Replay {
    pub fn is_over(&self) -> bool {
        matches!(self.state.as_str(), "COMPLETED" | "CANCELLED" | "FAILED")
    }

    /// How far through its window it is, from 0 to 1.
    pub fn fraction_done(&self) -> f64 {
        if self.state == "COMPLETED" {
            return 1.0;
        }
        let (Some(from), Some(to), Some(last)) = (self.from, self.to, self.last_replayed) else {
            return 0.0;
        };
        let whole = to.duration_since(from).unwrap_or_default().as_secs_f64();
        let done = last.duration_since(from).unwrap_or_default().as_secs_f64();
        if whole > 0.0 {
            (done / whole).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

pub struct Replays {
    events: aws_sdk_eventbridge::Client,
}

impl Replays {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            events: aws_sdk_eventbridge::Client::new(sdk),
        }
    }

    /// Bridge `bridge`'s archive `name`.
    pub async fn archive(&self, bridge: &str, name: &str) -> Result<Archive> {
        let answer = self
            .events
            .describe_archive()
            .archive_name(name)
            .send()
            .await;
        let archive = crate::aws::errors::found(
            answer,
            |e| e.is_resource_not_found_exception(),
            &format!("the archive {name}"),
        )?
        .ok_or_else(|| {
            hinted(
                format!("the bridge's archive {name} is missing"),
                format!(
                    "run `{}` to make it again",
                    crate::hint::command(bridge, "deploy")
                ),
            )
        })?;
        Ok(Archive {
            name: name.to_owned(),
            arn: archive.archive_arn.unwrap_or_default(),
            state: archive
                .state
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            created: archive
                .creation_time
                .and_then(|t| SystemTime::try_from(t).ok())
                .unwrap_or(SystemTime::UNIX_EPOCH),
            event_count: archive.event_count,
            size_bytes: archive.size_bytes,
            retention_days: archive.retention_days.unwrap_or_default(),
        })
    }

    /// Starts replaying `window` of `archive` to the rules `rule_arns` of `bus_arn`.
    pub async fn start(
        &self,
        name: &str,
        archive: &Archive,
        bus_arn: &str,
        window: Window,
        rule_arns: &[String],
    ) -> Result<()> {
        let destination = ReplayDestination::builder()
            .arn(bus_arn)
            .set_filter_arns(Some(rule_arns.to_vec()))
            .build()
            .context("a replay destination needs a bus")?;
        self.events
            .start_replay()
            .replay_name(name)
            .description(format!("stripe-bridge: {} rule(s)", rule_arns.len()))
            .event_source_arn(&archive.arn)
            .event_start_time(DateTime::from(window.from))
            .event_end_time(DateTime::from(window.to))
            .destination(destination)
            .send()
            .await
            .with_context(|| format!("cannot start replay {name}"))?;
        Ok(())
    }

    pub async fn describe(&self, name: &str) -> Result<Replay> {
        let replay = self
            .events
            .describe_replay()
            .replay_name(name)
            .send()
            .await
            .with_context(|| format!("cannot read replay {name}"))?;
        Ok(Replay {
            name: name.to_owned(),
            state: state_text(replay.state.as_ref()),
            reason: replay.state_reason,
            from: time(replay.event_start_time),
            to: time(replay.event_end_time),
            started: time(replay.replay_start_time),
            ended: time(replay.replay_end_time),
            last_replayed: time(replay.event_last_replayed_time),
        })
    }

    pub async fn cancel(&self, name: &str) -> Result<()> {
        self.events
            .cancel_replay()
            .replay_name(name)
            .send()
            .await
            .with_context(|| format!("cannot cancel replay {name}"))?;
        Ok(())
    }

    /// The replays whose names start with `prefix`, newest first.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Replay>> {
        let mut replays = Vec::new();
        let mut next = None;
        // ListReplays is not marked paginated in EventBridge's model: follow NextToken.
        loop {
            let page = self
                .events
                .list_replays()
                .name_prefix(prefix)
                .set_next_token(next)
                .send()
                .await
                .context("cannot list the bridge's replays")?;
            for replay in page.replays() {
                replays.push(Replay {
                    name: replay.replay_name().unwrap_or_default().to_owned(),
                    state: state_text(replay.state()),
                    reason: replay.state_reason().map(str::to_owned),
                    from: time(replay.event_start_time),
                    to: time(replay.event_end_time),
                    started: time(replay.replay_start_time),
                    ended: time(replay.replay_end_time),
                    last_replayed: time(replay.event_last_replayed_time),
                });
            }
            next = page.next_token;
            if next.is_none() {
                break;
            }
        }
        replays.sort_by_key(|r| std::cmp::Reverse(r.started));
        Ok(replays)
    }

    /// Cancels every replay of the bridge still running (for `remove`: a replay cannot be
    /// deleted, and one still running would go on delivering). The names cancelled.
    pub async fn cancel_running(&self, prefix: &str) -> Result<Vec<String>> {
        let mut cancelled = Vec::new();
        for replay in self.list(prefix).await? {
            if matches!(replay.state.as_str(), "STARTING" | "RUNNING") {
                self.cancel(&replay.name).await?;
                cancelled.push(replay.name);
            }
        }
        Ok(cancelled)
    }
}

/// A replay name for the bridge: `BRIDGE-replay-UNIXSECONDS-XXXX`, unique, within
/// EventBridge's 64 characters of `[.-_A-Za-z0-9]`.
pub fn replay_name(bridge: &str, now: SystemTime) -> String {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!("{bridge}-replay-{secs}-{:04x}", fastrand::u16(..))
}

/// The prefix of every replay name of the bridge.
pub fn replay_prefix(bridge: &str) -> String {
    format!("{bridge}-replay-")
}

fn state_text(state: Option<&ReplayState>) -> String {
    state.map(|s| s.as_str().to_owned()).unwrap_or_default()
}

fn time(value: Option<DateTime>) -> Option<SystemTime> {
    value.and_then(|t| SystemTime::try_from(t).ok())
}

/// Times as RFC 3339 text in JSON output, to the second.
mod humantime_serde_secs {
    use std::time::SystemTime;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_rfc3339_seconds(*time))
    }

    pub mod option {
        use std::time::SystemTime;

        use serde::Serializer;

        pub fn serialize<S: Serializer>(
            time: &Option<SystemTime>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match time {
                Some(time) => super::serialize(time, serializer),
                None => serializer.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(created: SystemTime) -> Archive {
        Archive {
            name: "shop-events".into(),
            arn: "arn".into(),
            state: "ENABLED".into(),
            created,
            event_count: 0,
            size_bytes: 0,
            retention_days: 90,
        }
    }

    #[test]
    fn only_an_event_the_archive_has_had_time_to_hold_is_replayable() {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let archive = archive(created);
        let delay = Duration::from_secs(600);
        let settled = created + Duration::from_secs(3600);
        let now = settled + delay;
        let judge = |time: SystemTime| not_replayable(time, &archive, now, delay);
        let before = judge(created - Duration::from_secs(1));
        assert!(
            before
                .as_deref()
                .is_some_and(|w| w.contains("before the archive was made")),
            "{before:?}"
        );
        let young = judge(settled + Duration::from_secs(1));
        assert!(
            young
                .as_deref()
                .is_some_and(|w| w.contains("may not have archived it yet; redeliver it after")),
            "{young:?}"
        );
        assert_eq!(judge(created), None);
        assert_eq!(judge(settled), None);
    }

    #[test]
    fn windows_before_the_archive_in_the_future_or_reversed_are_refused() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        let made = archive(now - 10 * hour);
        let ok = Window {
            from: now - 2 * hour,
            to: now,
        };
        assert!(ok.check(&made, now).is_ok());
        for (window, says) in [
            (
                Window {
                    from: now - 11 * hour,
                    to: now,
                },
                "before the archive shop-events began",
            ),
            (
                Window {
                    from: now - hour,
                    to: now + hour,
                },
                "is in the future",
            ),
            (
                Window {
                    from: now - hour,
                    to: now - 2 * hour,
                },
                "empty or reversed",
            ),
        ] {
            let error = window.check(&made, now).unwrap_err().to_string();
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn replay_names_are_the_bridges_and_fit_eventbridge() {
        let name = replay_name(&"b".repeat(40), SystemTime::now());
        assert!(name.starts_with(&replay_prefix(&"b".repeat(40))));
        assert!(name.len() <= 64, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        );
    }
}
