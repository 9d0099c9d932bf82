//! Integration tests: the relay against the AWS emulator, and the signature verifier
//! against Stripe's official library.

mod artifact;
mod bus_policy;
mod cli_help;
mod dead_letters;
mod deploy;
mod deploy_permissions;
mod deployer_policy;
mod faults;
mod interrupted_deploy;
mod layers;
mod least_privilege;
mod left_behind;
mod local_relay;
mod malformed_requests;
mod newcomer_audit;
mod no_secrets;
mod notice_flood;
mod operate;
mod package;
mod propagation;
mod redeploy;
mod relay_delivery;
mod relay_failures;
mod relay_logs;
mod release;
mod replay;
mod rules;
mod set_secret;
mod signature_oracle;
mod status;
mod stripe_link;
mod support;
mod template;
mod verify;
