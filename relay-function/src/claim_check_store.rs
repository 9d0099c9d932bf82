//! The claim check's store: an event too large for the bus is written to S3 first, and
//! the bus carries a reference to it (`bus_entry::ClaimCheck`).

use aws_sdk_s3::primitives::ByteStream;
use tokio::time::Instant;

use crate::aws_errors::describe;
use crate::bus_entry::ClaimCheck;
use crate::stripe_event::StripeEvent;

/// Where oversized events are stored.
#[derive(Debug, Clone)]
pub struct ClaimCheckStore {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
}

impl ClaimCheckStore {
    /// Stores the event; the error says why it could not.
    pub(crate) async fn put(
        &self,
        event: &StripeEvent<'_>,
        body: &str,
        deadline: Instant,
    ) -> Result<ClaimCheck, String> {
        let check = ClaimCheck::for_event(&self.bucket, event, body.as_bytes());
        let upload = self
            .client
            .put_object()
            .bucket(&check.bucket)
            .key(&check.key)
            .content_type("application/json")
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send();
        match tokio::time::timeout_at(deadline, upload).await {
            Ok(Ok(_)) => Ok(check),
            Ok(Err(e)) => Err(describe(&e)),
            Err(_) => Err("no answer from S3 in time".into()),
        }
    }
}
