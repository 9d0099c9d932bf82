//! The relay's cap on concurrent invocations (its reserved concurrency), chosen against
//! what the account can spare.
//!
//! AWS keeps at least 100 of an account's concurrency unreserved: a reservation that
//! would leave less is refused, and the stack would roll back ("Configuring reserved
//! concurrency" and "Lambda quotas", Lambda Developer Guide). New accounts often have a
//! limit of 10, so there no cap can be set at all.

use anyhow::{Context, Result};
use aws_config::SdkConfig;

use crate::hint::hinted;

/// What AWS keeps unreserved in every account.
pub const MIN_UNRESERVED: i64 = 100;

/// The cap when none is asked for: about 2.5 times what the endpoint's default rate
/// (100 requests a second) needs at the relay's usual 100 ms; when EventBridge slows
/// down, requests past it are throttled, answered 5xx and retried by Stripe, instead of
/// taking the concurrency every other function of the account needs.
pub const DEFAULT_CAP: i64 = 25;

/// What the account can give the relay: its unreserved concurrency, plus what the relay
/// itself holds now (a redeploy moves that, it does not add to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    pub limit: i64,
    pub available: i64,
}

pub async fn headroom(sdk: &SdkConfig, function: &str) -> Result<Headroom> {
    let lambda = aws_sdk_lambda::Client::new(sdk);
    let settings = lambda
        .get_account_settings()
        .send()
        .await
        .context("cannot read the account's Lambda concurrency")?;
    let limit = settings.account_limit();
    let held = match lambda
        .get_function_concurrency()
        .function_name(function)
        .send()
        .await
    {
        Ok(answer) => answer.reserved_concurrent_executions.unwrap_or_default(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            0
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot read the relay's concurrency")),
    };
    Ok(Headroom {
        limit: limit
            .map(|l| i64::from(l.concurrent_executions))
            .unwrap_or_default(),
        available: limit
            .and_then(|l| l.unreserved_concurrent_executions)
            .map(i64::from)
            .unwrap_or_default()
            + i64::from(held),
    })
}

/// The cap to deploy (0: none), and a warning when the default could not be had.
/// An explicit cap the account cannot spare is an error, before anything changes.
/// `headroom` is what `headroom` found, or why it could not (one line).
pub fn choose(
    requested: Option<i64>,
    headroom: Result<Headroom, String>,
) -> Result<(i64, Option<String>)> {
    let fits = |cap: i64, room: &Headroom| room.available - cap >= MIN_UNRESERVED;
    match (requested, headroom) {
        (Some(0), _) => Ok((0, None)),
        (Some(cap), Ok(room)) if !fits(cap, &room) => Err(hinted(
            format!(
                "a cap of {cap} is more than the account can reserve: {} of its {} concurrency are unreserved, and AWS keeps at least {MIN_UNRESERVED} of them",
                room.available, room.limit
            ),
            format!(
                "pass --max-concurrency {} or less, 0 for no cap, or raise the limit in Service Quotas",
                (room.available - MIN_UNRESERVED).max(0)
            ),
        )),
        (Some(cap), _) => Ok((cap, None)),
        (None, Ok(room)) if fits(DEFAULT_CAP, &room) => Ok((DEFAULT_CAP, None)),
        (None, Ok(room)) => Ok((
            0,
            Some(format!(
                "the account's Lambda concurrency limit is {}: too low to cap the relay at {DEFAULT_CAP} and keep {MIN_UNRESERVED} unreserved, so it has no cap",
                room.limit
            )),
        )),
        (None, Err(error)) => Ok((
            0,
            Some(format!("the relay has no concurrency cap: {error}")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(limit: i64, available: i64) -> Result<Headroom, String> {
        Ok(Headroom { limit, available })
    }

    #[test]
    fn the_default_cap_is_set_only_where_the_account_can_spare_it() {
        assert_eq!(choose(None, room(1000, 1000)).unwrap(), (DEFAULT_CAP, None));
        let (cap, warning) = choose(None, room(10, 10)).unwrap();
        assert_eq!(cap, 0);
        assert!(warning.unwrap().contains("limit is 10"));
        let (cap, warning) = choose(None, Err("access denied".into())).unwrap();
        assert_eq!(cap, 0);
        assert!(warning.unwrap().contains("access denied"));
    }

    #[test]
    fn an_explicit_cap_the_account_cannot_spare_is_refused() {
        assert_eq!(choose(Some(50), room(1000, 1000)).unwrap(), (50, None));
        assert_eq!(choose(Some(0), room(10, 10)).unwrap(), (0, None));
        let error = choose(Some(5), room(10, 10)).unwrap_err().to_string();
        assert!(error.contains("keeps at least 100"), "{error}");
    }
}
