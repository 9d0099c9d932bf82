//! Which relay a bridge runs: its function's code, by SHA-256, to set beside the relay
//! this CLI carries or built, so that `status` can say when the deployed relay is not
//! this CLI's (deployed by another version, or its code changed outside the stack).

use anyhow::{Context, Result};
use aws_config::SdkConfig;

/// The bridge's relay function: the stack names it after the bridge.
pub fn function_name(bridge: &str) -> String {
    format!("{bridge}-relay")
}

/// The SHA-256 of the code the relay function runs, as lowercase hex (Lambda reports it
/// as base64, `CodeSha256`; `package` prints hex).
pub async fn deployed_sha256(sdk: &SdkConfig, bridge: &str) -> Result<String> {
    let function = function_name(bridge);
    let configuration = aws_sdk_lambda::Client::new(sdk)
        .get_function_configuration()
        .function_name(&function)
        .send()
        .await
        .with_context(|| format!("cannot read the relay function {function}"))?;
    let base64 = configuration
        .code_sha256()
        .with_context(|| format!("Lambda reported no CodeSha256 for {function}"))?;
    let digest = aws_smithy_types::base64::decode(base64)
        .with_context(|| format!("Lambda's CodeSha256 for {function} is not base64"))?;
    Ok(hex::encode(digest))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lambdas_base64_digest_reads_as_packages_hex() {
        // SHA-256 of the empty string, as Lambda and as `package` write it.
        let base64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            hex::encode(aws_smithy_types::base64::decode(base64).unwrap()),
            hex
        );
    }
}
