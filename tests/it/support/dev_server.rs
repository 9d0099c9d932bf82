//! The CLI running in the background and printing a line per request: `dev`, for tests
//! that relay through the local relay, and `tail`, for tests that watch a relay.

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
        let lines = lines_of(stdout);
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

/// Each line `stdout` gives, as it comes.
fn lines_of(stdout: impl BufRead + Send + 'static) -> mpsc::Receiver<String> {
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    lines
}

/// A running `stripe-bridge --output json tail`: the requests it prints.
pub struct Tail {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tail {
    /// `tail` for bridge `name`, with `args` after it.
    pub fn start(name: &str, args: &[&str]) -> Self {
        let mut all = vec!["--name", name, "--output", "json", "tail"];
        all.extend_from_slice(args);
        let mut child = spawn_cli(&all);
        let lines = lines_of(BufReader::new(child.stdout.take().unwrap()));
        Self { child, lines }
    }

    /// The next request it prints, waiting for its polls to find it.
    pub fn next(&self) -> serde_json::Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("tail printed no request within 30 s");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Whatever it printed that was not read yet, waiting `for_` for more.
    pub fn rest(&self, for_: Duration) -> Vec<String> {
        std::thread::sleep(for_);
        self.lines.try_iter().collect()
    }

    /// Ctrl-C, as a person ends it: its exit status and what it said on stderr.
    pub fn interrupt(mut self) -> (std::process::ExitStatus, String) {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut err).unwrap();
        }
        (status, err)
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
