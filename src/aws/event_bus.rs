//! Event buses beyond the bridge's own: whether one exists, and every bus there is (the
//! bridge's rules may be on any it ever used).

use anyhow::{Context, Result};
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

/// The name of every event bus in the configured account and region, `default` first.
pub async fn all(sdk: &SdkConfig) -> Result<Vec<String>> {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let mut names = Vec::new();
    // EventBridge's model does not mark ListEventBuses as paginated: follow NextToken.
    let mut next = None;
    loop {
        let page = events
            .list_event_buses()
            .set_next_token(next)
            .send()
            .await
            .context("cannot list the event buses")?;
        names.extend(
            page.event_buses()
                .iter()
                .filter_map(|b| b.name().map(str::to_owned)),
        );
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    names.sort_by_key(|n| (n != "default", n.clone()));
    Ok(names)
}
