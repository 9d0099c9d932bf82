//! What the relay spends on each request before it calls AWS: verify the signature,
//! read the event's routing fields, and build the EventBridge entry. Measured on a
//! realistic 3 KB `invoice.paid` and on a 300 KB invoice with many line items.
//!
//!     cargo bench -p relay-function --bench verify

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use relay_function::bus_entry;
use relay_function::signature;
use relay_function::signing_secrets::SigningSecret;
use relay_function::stripe_event::StripeEvent;

mod support;
use support::payloads::{invoice_paid, large_invoice};
use support::request_path::verify_parse_build;

const NOW: i64 = 1_767_225_600;

fn verify_and_build(c: &mut Criterion) {
    let secret = SigningSecret::new("whsec_benchSecret00000000000000000000000");
    let mut group = c.benchmark_group("verify_and_build_entry");
    for (name, body) in [
        ("3KB", invoice_paid()),
        ("300KB", large_invoice(300 * 1024)),
    ] {
        let header = signature::sign(&secret, NOW - 5, body.as_bytes());
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| verify_parse_build(black_box(&header), black_box(&body), &secret, NOW))
        });
    }
    group.finish();

    // The two halves apart, to see where the time goes.
    let body = invoice_paid();
    let header = signature::sign(&secret, NOW - 5, body.as_bytes());
    c.bench_function("verify_only/3KB", |b| {
        b.iter(|| {
            signature::verify(
                Some(black_box(&header)),
                black_box(&body).as_bytes(),
                &[&secret],
                NOW,
                Duration::from_secs(300),
            )
        })
    });
    let event = StripeEvent::parse(&body).unwrap();
    c.bench_function("build_entry_only/3KB", |b| {
        b.iter(|| bus_entry::event_entry("stripe-bridge", black_box(&event), black_box(&body)))
    });
    c.bench_function("parse_event_only/3KB", |b| {
        b.iter(|| StripeEvent::parse(black_box(&body)).map(|e| e.created))
    });
}

criterion_group!(benches, verify_and_build);
criterion_main!(benches);
