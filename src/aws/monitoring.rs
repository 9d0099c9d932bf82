//! What CloudWatch knows of the bridge: the states of its alarms, and when the relay
//! last put an event on the bus (from its `EventsRelayed` metric).

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use relay_function::relay_metrics;
use serde::Serialize;

/// One of the bridge's alarms.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmState {
    pub name: String,
    /// OK, ALARM or INSUFFICIENT_DATA.
    pub state: String,
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

    /// The start of the last hour in which the relay put an event on the bus, within
    /// the last 30 days.
    pub async fn last_relayed(&self, bridge: &str, now: SystemTime) -> Result<Option<SystemTime>> {
        let answer = self
            .cloudwatch
            .get_metric_statistics()
            .namespace(relay_metrics::NAMESPACE)
            .metric_name(relay_metrics::EVENTS_RELAYED)
            .dimensions(
                Dimension::builder()
                    .name(relay_metrics::BRIDGE_DIMENSION)
                    .value(bridge)
                    .build(),
            )
            .start_time(DateTime::from(now - LOOK_BACK))
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
            .filter(|point| point.sum().unwrap_or_default() > 0.0)
            .filter_map(|point| {
                point
                    .timestamp()
                    .and_then(|t| SystemTime::try_from(*t).ok())
            })
            .max())
    }
}
