//! Editing a resource policy that is only ever read and written whole (a queue's, a
//! topic's, a KMS key's) without losing another writer's change.
//!
//! SQS `SetQueueAttributes`, SNS `SetTopicAttributes` and KMS `PutKeyPolicy` replace the
//! whole document and take no version or condition, so two tools merging statements at
//! once can each write the policy it read, and the later write drops the other's
//! statement. [`edit`] therefore reads again after it writes, and when the change it made
//! is not there (another writer replaced the document with one made from the older
//! copy), it makes its change again on what is there now, which keeps the other writer's
//! statement too. A writer that follows the same rule does the same, so neither change
//! is lost. A change already in place is never written again.

use std::future::Future;
use std::time::Duration;

use anyhow::{Result, bail};

/// A policy document that is read and written whole.
pub trait WholePolicy {
    /// What the policy belongs to, for messages: `queue https://…`, `key arn:aws:kms:…`.
    fn describe(&self) -> String;
    fn read(&self) -> impl Future<Output = Result<Option<String>>> + Send;
    fn write(&self, policy: String) -> impl Future<Output = Result<()>> + Send;
}

/// How often [`edit`] writes before it gives up on a policy that keeps changing.
const MAX_WRITES: u32 = 5;

/// Brings `policy` to a state where `is_done` holds, writing `change(current)` when it
/// does not, and reading again after each write (see the module's comment).
/// `change` returns `None` when there is nothing to write.
pub async fn edit<P: WholePolicy + Sync>(
    policy: &P,
    is_done: impl Fn(Option<&str>) -> bool,
    change: impl Fn(Option<&str>) -> Result<Option<String>>,
) -> Result<()> {
    for write in 0..MAX_WRITES {
        let current = policy.read().await?;
        if is_done(current.as_deref()) {
            return Ok(());
        }
        let Some(next) = change(current.as_deref())? else {
            return Ok(());
        };
        policy.write(next).await?;
        // Let a writer racing this one finish before reading again; the pause grows,
        // with jitter, so that two such writers fall out of step.
        let pause = Duration::from_millis(50 << write);
        tokio::time::sleep(pause.mul_f64(0.5 + fastrand::f64())).await;
    }
    match policy.read().await? {
        current if is_done(current.as_deref()) => Ok(()),
        _ => bail!(
            "the policy of {} changed under stripe-bridge {MAX_WRITES} times while it was being edited; \
             run the command again (it changes nothing that is already in place)",
            policy.describe()
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A policy that another writer replaces once, right after our first write, with
    /// its own change made from the copy it read before.
    struct Racing {
        stored: Mutex<Option<String>>,
        writes: Mutex<Vec<String>>,
    }

    impl WholePolicy for Racing {
        fn describe(&self) -> String {
            "queue q".into()
        }
        async fn read(&self) -> Result<Option<String>> {
            Ok(self.stored.lock().unwrap().clone())
        }
        async fn write(&self, policy: String) -> Result<()> {
            let mut writes = self.writes.lock().unwrap();
            writes.push(policy.clone());
            *self.stored.lock().unwrap() = Some(if writes.len() == 1 {
                "theirs".to_owned()
            } else {
                policy
            });
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_change_lost_to_another_writer_is_made_again_on_theirs() {
        let policy = Racing {
            stored: Mutex::new(Some("base".into())),
            writes: Mutex::new(Vec::new()),
        };
        edit(
            &policy,
            |current| current.is_some_and(|p| p.contains("ours")),
            |current| Ok(Some(format!("{}+ours", current.unwrap_or_default()))),
        )
        .await
        .unwrap();
        assert_eq!(*policy.writes.lock().unwrap(), ["base+ours", "theirs+ours"]);
        assert_eq!(
            policy.stored.lock().unwrap().as_deref(),
            Some("theirs+ours")
        );

        // Already in place: nothing is written.
        edit(
            &policy,
            |current| current.is_some_and(|p| p.contains("ours")),
            |_| Ok(Some("never".into())),
        )
        .await
        .unwrap();
        assert_eq!(policy.writes.lock().unwrap().len(), 2);
    }
}
