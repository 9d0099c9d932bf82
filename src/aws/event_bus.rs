//! Event buses the bridge puts events on but did not make: whether one exists.

use anyhow::Result;
use aws_config::SdkConfig;

use crate::aws::errors::found;

/// Whether the bus `name` (or `default`) exists in the configured account and region.
pub async fn exists(sdk: &SdkConfig, name: &str) -> Result<bool> {
    let answer = aws_sdk_eventbridge::Client::new(sdk)
        .describe_event_bus()
        .name(name)
        .send()
        .await;
    Ok(found(
        answer,
        |e| e.is_resource_not_found_exception(),
        &format!("event bus {name}"),
    )?
    .is_some())
}
