//! The S3 bucket stripe-bridge keeps the relay's code in, one per bridge, account and
//! region. The tool owns it (the stack's Lambda needs its code before the stack exists)
//! and `remove` empties and deletes it. Also: emptying any bucket, for `remove`.

use anyhow::{Context, Result};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
    PublicAccessBlockConfiguration, Tag, Tagging,
};

use crate::aws::OWNER_TAG;
use crate::build::package::Artifact;
use crate::short_hash::short_sha256;

/// A name that is the same on every run and unique to the bridge, account and region,
/// within S3's 63 characters.
pub fn bucket_name(account_id: &str, region: &str, bridge: &str) -> String {
    format!(
        "stripe-bridge-artifacts-{}",
        short_sha256(format!("{account_id}/{region}/{bridge}"), 16)
    )
}

pub async fn exists(s3: &Client, bucket: &str) -> Result<bool> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot check bucket {bucket}"))),
    }
}

/// Creates the bucket if it is missing: private, encrypted, tagged with the bridge.
pub async fn ensure_bucket(s3: &Client, bucket: &str, region: &str, bridge: &str) -> Result<()> {
    if exists(s3, bucket).await? {
        return Ok(());
    }
    let mut create = s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create
        .send()
        .await
        .with_context(|| format!("cannot create the artifacts bucket {bucket}"))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("cannot make the artifacts bucket {bucket} private"))?;
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key(OWNER_TAG).value(bridge).build()?)
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("cannot tag the artifacts bucket {bucket}"))?;
    Ok(())
}

/// Uploads the artifact unless an object with its content hash is already there.
/// Returns whether it uploaded.
pub async fn upload(s3: &Client, bucket: &str, artifact: &Artifact) -> Result<bool> {
    let key = artifact.key();
    if s3
        .head_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(ByteStream::from(artifact.zip.clone()))
        .content_type("application/zip")
        .send()
        .await
        .with_context(|| format!("cannot upload the relay to s3://{bucket}/{key}"))?;
    Ok(true)
}

/// Deletes every object (and every version, for versioned buckets) in `bucket`.
pub async fn empty(s3: &Client, bucket: &str) -> Result<usize> {
    let mut deleted = 0;
    loop {
        let listed = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .with_context(|| format!("cannot list the objects in {bucket}"))?;
        let mut ids = Vec::new();
        for v in listed.versions() {
            ids.push((v.key().unwrap_or_default(), v.version_id()));
        }
        for m in listed.delete_markers() {
            ids.push((m.key().unwrap_or_default(), m.version_id()));
        }
        if ids.is_empty() {
            return Ok(deleted);
        }
        let objects = ids
            .iter()
            .map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(*key)
                    .set_version_id(version.map(str::to_owned))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        deleted += objects.len();
        s3.delete_objects()
            .bucket(bucket)
            .delete(
                Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("cannot delete the objects in {bucket}"))?;
    }
}

pub async fn delete_bucket(s3: &Client, bucket: &str) -> Result<()> {
    empty(s3, bucket).await?;
    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .with_context(|| format!("cannot delete bucket {bucket}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_stable_unique_and_short() {
        let a = bucket_name("123456789012", "eu-west-1", "live");
        assert_eq!(a, bucket_name("123456789012", "eu-west-1", "live"));
        assert_ne!(a, bucket_name("123456789012", "eu-west-1", "test"));
        assert_ne!(a, bucket_name("123456789012", "us-east-1", "live"));
        assert!(a.len() <= 63);
    }
}
