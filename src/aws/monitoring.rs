//! What CloudWatch knows of the bridge: the states of its alarms, when the relay last put
//! an event on the bus (from its `EventsRelayed` metric), and its requests per hour. A
//! local relay's (`dev`) metrics count too: they carry the bridge's dimension and
//! `Relay=dev` (`relay_logs::LOCAL_RELAY_DIMENSION`), which the alarms leave out.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use relay_function::relay_metrics;
use serde::Serialize;

use super::relay_logs::LOCAL_RELAY_DIMENSION;

/// One of the bridge's alarms.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmState {
    pub name: String,
    /// OK, ALARM or INSUFFICIENT_DATA.
    pub state: String,
}

/// One hour's requests: the Lambda's, and a local relay's apart.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HourCount {
    /// RFC 3339: the hour's start.
    pub hour: String,
    pub relayed: u64,
    /// Unverified, or verified and not relayed.
    pub refused: u64,
    pub dev_relayed: u64,
    pub dev_refused: u64,
}

/// How far back `last_relayed` looks: CloudWatch keeps hourly data for 63 days, and
/// one request may return 1,440 data points.
const LOOK_BACK: Duration = Duration::from_secs(30 * 24 * 3600);

pub struct Monitoring {
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Monitoring {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
        }
    }

    /// The alarms whose names start with `BRIDGE-` (the stack names them so).
    pub async fn alarms(&self, bridge: &str) -> Result<Vec<AlarmState>> {
        let mut pages = self
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix(format!("{bridge}-"))
            .into_paginator()
            .send();
        let mut alarms = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.context("cannot read the bridge's alarms")?;
            for alarm in page.metric_alarms() {
                alarms.push(AlarmState {
                    name: alarm.alarm_name().unwrap_or_default().to_owned(),
                    state: alarm
                        .state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                });
            }
        }
        alarms.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(alarms)
    }

    /// The start of the last hour in which the relay, or a local one, put an event on
    /// the bus, within the last 30 days.
    pub async fn last_relayed(&self, bridge: &str, now: SystemTime) -> Result<Option<SystemTime>> {
        let mut last = None;
        for local in [false, true] {
            let sums = self
                .hourly_sums(
                    bridge,
                    relay_metrics::EVENTS_RELAYED,
                    local,
                    now - LOOK_BACK,
                    now,
                )
                .await?;
            last = last.max(
                sums.into_iter()
                    .filter(|(_, sum)| *sum > 0)
                    .map(|(at, _)| at)
                    .max(),
            );
        }
        Ok(last)
    }

    /// The requests of the last 24 hours, hour by hour, oldest first: the hour under way
    /// is the last.
    pub async fn requests_by_hour(&self, bridge: &str, now: SystemTime) -> Result<Vec<HourCount>> {
        let since_epoch = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let this_hour =
            SystemTime::UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs() / 3600 * 3600);
        let start = this_hour - Duration::from_secs(23 * 3600);
        let mut hours: Vec<HourCount> = (0..24)
            .map(|i| HourCount {
                hour: humantime::format_rfc3339_seconds(start + Duration::from_secs(i * 3600))
                    .to_string(),
                ..HourCount::default()
            })
            .collect();
        let counted = [
            (relay_metrics::EVENTS_RELAYED, true),
            (relay_metrics::UNVERIFIED_REQUESTS, false),
            (relay_metrics::EVENTS_NOT_RELAYED, false),
        ];
        for local in [false, true] {
            for (metric, relayed) in counted {
                for (at, sum) in self.hourly_sums(bridge, metric, local, start, now).await? {
                    let index = at
                        .duration_since(start)
                        .map_or(usize::MAX, |d| (d.as_secs() / 3600) as usize);
                    let Some(hour) = hours.get_mut(index) else {
                        continue;
                    };
                    let count = match (local, relayed) {
                        (false, true) => &mut hour.relayed,
                        (false, false) => &mut hour.refused,
                        (true, true) => &mut hour.dev_relayed,
                        (true, false) => &mut hour.dev_refused,
                    };
                    *count += sum;
                }
            }
        }
        Ok(hours)
    }

    /// A metric's sum per hour from `start` to the end of the hour under way at `now`:
    /// the Lambda's (the bridge's dimension alone), or a local relay's.
    async fn hourly_sums(
        &self,
        bridge: &str,
        metric: &str,
        local: bool,
        start: SystemTime,
        now: SystemTime,
    ) -> Result<Vec<(SystemTime, u64)>> {
        let mut dimensions = vec![
            Dimension::builder()
                .name(relay_metrics::BRIDGE_DIMENSION)
                .value(bridge)
                .build(),
        ];
        if local {
            let (name, value) = LOCAL_RELAY_DIMENSION;
            dimensions.push(Dimension::builder().name(name).value(value).build());
        }
        let answer = self
            .cloudwatch
            .get_metric_statistics()
            .namespace(relay_metrics::NAMESPACE)
            .metric_name(metric)
            .set_dimensions(Some(dimensions))
            .start_time(DateTime::from(start))
            // To the end of the current hour's bucket, so that the hour under way counts.
            .end_time(DateTime::from(now + Duration::from_secs(3600)))
            .period(3600)
            .statistics(Statistic::Sum)
            .send()
            .await
            .context("cannot read the relay's metrics")?;
        Ok(answer
            .datapoints()
            .iter()
            .filter_map(|point| {
                let at = point
                    .timestamp()
                    .and_then(|t| SystemTime::try_from(*t).ok())?;
                Some((at, point.sum().unwrap_or_default().round().max(0.0) as u64))
            })
            .collect())
    }
}
