//! A running `stripe-bridge dev`, for tests that relay through the local relay.

use std::io::{BufRead, BufReader, Read};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::cli::spawn_cli;

/// A running `stripe-bridge dev`: its URL, and the lines it prints per request.
pub struct DevServer {
    child: Child,
    pub url: String,
    lines: mpsc::Receiver<String>,
}

impl DevServer {
    pub fn start(args: &[&str]) -> Self {
        Self::of(spawn_cli(args))
    }

    /// A `dev` already started, with its standard output and error piped.
    pub fn of(mut child: Child) -> Self {
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        // Text: `Listening on URL`; JSON Lines: `{"listening": URL, …}` on one line.
        let from_json = serde_json::from_str::<serde_json::Value>(first.trim())
            .ok()
            .and_then(|v| v["listening"].as_str().map(str::to_owned));
        let Some(url) = from_json
            .as_deref()
            .or_else(|| first.trim().strip_prefix("Listening on "))
        else {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("dev did not start: {first}{err}");
        };
        let url = url.to_owned();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Self { child, url, lines }
    }

    /// The next request line, waiting a little for it.
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a request line")
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches("/webhook")
            .parse()
            .unwrap()
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
