//! Telling AWS errors apart where a caller branches on them: a lookup that finds
//! nothing is an answer (`Ok(None)`), a refusal names the credentials as the cause, and
//! anything else is an error that says what was being looked up.

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use crate::hint::hinted;

/// Error codes AWS services answer when the caller may not make the call.
const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "UnauthorizedOperation",
];

/// Whether an SDK error is AWS refusing the caller.
pub fn is_access_denied<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| ACCESS_DENIED.contains(&code))
}

/// The answer to a lookup of `what`: `Some` if it is there, `None` if the service says
/// it is not (`is_not_found`, from the operation's error enum), and an error that tells
/// a refusal from any other failure.
pub fn found<T, E, R>(
    answer: Result<T, SdkError<E, R>>,
    is_not_found: impl Fn(&E) -> bool,
    what: &str,
) -> anyhow::Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match answer {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.as_service_error().is_some_and(&is_not_found) => Ok(None),
        Err(e) if is_access_denied(&e) => Err(anyhow::Error::new(e).context(hinted(
            format!("these AWS credentials may not look up {what}"),
            "use credentials that may (see templates/deployer-policy.json), or pick others with --profile",
        ))),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot look up {what}"))),
    }
}
