//! Who may put `source: Stripe` events on a bridge's own bus. The bus policy denies it
//! to every IAM identity but the relay's role and the publishers a user allowed
//! (`deploy --allow-publisher`), matched on `aws:PrincipalArn`: for an IAM user, its
//! ARN; for a role session, the role's ARN (IAM User Guide, "AWS global condition
//! context keys"). This is the pure half: the ARNs as the policy names them.

/// The stack parameter that holds the allowed publishers, separated by commas.
pub const PARAMETER: &str = "AllowedPublishers";

/// An `--allow-publisher` value: an IAM user's or role's ARN, as `aws:PrincipalArn`
/// holds it.
pub fn parse(arn: &str) -> Result<String, String> {
    if let Some(role) = role_of_session(arn) {
        return Err(format!(
            "`{arn}` is a role session; name its role instead: {role}"
        ));
    }
    let kind = arn.split(':').nth(5).and_then(|r| r.split_once('/'));
    let well_formed = arn.starts_with("arn:aws")
        && arn.split(':').nth(2) == Some("iam")
        && arn
            .split(':')
            .nth(4)
            .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        && matches!(kind, Some(("user" | "role", name)) if !name.is_empty())
        && !arn.contains(',');
    if well_formed {
        Ok(arn.to_owned())
    } else {
        Err(format!(
            "`{arn}` is not an IAM user or role ARN (arn:aws:iam::ACCOUNT:user/NAME or arn:aws:iam::ACCOUNT:role/NAME); `aws sts get-caller-identity` shows yours"
        ))
    }
}

/// The ARN `aws:PrincipalArn` holds for the caller STS names: a role session's role,
/// or the ARN itself. A role's path is not in its session's ARN, so a role with a path
/// other than `/` must be named in full with `--allow-publisher`.
pub fn principal_arn(caller_arn: &str) -> String {
    role_of_session(caller_arn).unwrap_or_else(|| caller_arn.to_owned())
}

/// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` → `arn:aws:iam::ACCOUNT:role/ROLE`.
fn role_of_session(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (_, partition, service, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let role = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    (service == "sts").then(|| format!("arn:{partition}:iam::{account}:role/{role}"))
}

/// The parameter's value for these publishers.
pub fn parameter_value(publishers: &[String]) -> String {
    publishers.join(",")
}

/// The publishers a deployed stack allows, from its parameter's value.
pub fn from_parameter(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_roles_are_taken_and_sessions_are_named_by_their_role() {
        for arn in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:role/dev/laptop",
            "arn:aws-cn:iam::123456789012:role/ops",
        ] {
            assert_eq!(parse(arn).as_deref(), Ok(arn));
        }
        let session = "arn:aws:sts::123456789012:assumed-role/ops/alice@example.com";
        assert_eq!(principal_arn(session), "arn:aws:iam::123456789012:role/ops");
        assert!(parse(session).unwrap_err().contains("role/ops"));
        assert_eq!(
            principal_arn("arn:aws:iam::123456789012:user/alice"),
            "arn:aws:iam::123456789012:user/alice"
        );
    }

    #[test]
    fn anything_else_is_refused_with_what_an_arn_looks_like() {
        for bad in [
            "alice",
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::1234:user/alice",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:user/",
            "arn:aws:iam::123456789012:user/a,arn:aws:iam::123456789012:user/b",
        ] {
            assert!(
                parse(bad)
                    .unwrap_err()
                    .contains("not an IAM user or role ARN"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_parameter_round_trips() {
        let publishers = vec![
            "arn:aws:iam::123456789012:user/a".to_owned(),
            "arn:aws:iam::123456789012:role/b".to_owned(),
        ];
        assert_eq!(from_parameter(&parameter_value(&publishers)), publishers);
        assert!(from_parameter("").is_empty());
    }
}
