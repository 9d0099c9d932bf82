//! The Lambda entry point (`provided.al2023`): builds the relay once per cold start,
//! then answers API Gateway invocations until the environment is retired.

#![forbid(unsafe_code)]

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use relay_function::lambda;
use relay_function::relay::Relay;
use relay_function::relay_config::RelayConfig;

fn main() -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), Error> {
    lambda::init_logging();
    let config = RelayConfig::from_env()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .app_name(aws_config::AppName::new("stripe-bridge-relay").expect("a valid app name"))
        .load()
        .await;
    let metrics = lambda::init_metrics(&config.bridge_name);
    let relay = Arc::new(Relay::from_sdk_config(&sdk, config));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
            let relay = relay.clone();
            async move {
                let response = lambda::handle(&relay, event).await;
                lambda::flush_metrics(metrics);
                Ok::<_, Error>(response)
            }
        },
    ))
    .await
}
