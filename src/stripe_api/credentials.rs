//! The Stripe API key, found as Stripe's own tools find it: `--stripe-key-file`, else
//! `STRIPE_API_KEY`, else the key the Stripe CLI stored at `stripe login`
//! (`$XDG_CONFIG_HOME/stripe/config.toml`, default `~/.config/stripe/config.toml`; the
//! project `--stripe-project` or `STRIPE_PROJECT_NAME` names, else `default`; its
//! test-mode key, or its live-mode one with `--stripe-live`).
//!
//! The key is never printed, logged or stored: `Debug` shows its mode only, and it is
//! wiped from memory when dropped.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use crate::hint::hinted;
use crate::settings::StripeSettings;

/// Test mode or live mode, as the key's prefix says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Test,
    Live,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Test => "test mode",
            Self::Live => "live mode",
        })
    }
}

/// A Stripe secret key (`sk_…`) or restricted key (`rk_…`).
pub struct ApiKey {
    value: Zeroizing<String>,
    pub mode: Mode,
    /// Where it was read from, for messages: never the key itself.
    pub source: String,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}, from {})", self.mode, self.source)
    }
}

impl ApiKey {
    /// Checks that `value` is a key the API takes, naming `source` if not.
    pub fn new(value: &str, source: &str) -> Result<Self> {
        let value = value.trim();
        let mode = if value.starts_with("sk_test_") || value.starts_with("rk_test_") {
            Mode::Test
        } else if value.starts_with("sk_live_") || value.starts_with("rk_live_") {
            Mode::Live
        } else if value.starts_with("pk_") {
            return Err(hinted(
                format!(
                    "the Stripe key from {source} is a publishable key (pk_…), which cannot manage webhook endpoints"
                ),
                "give a secret key (sk_…) or a restricted key (rk_…) with webhook endpoints write and events read",
            ));
        } else if value.is_empty() {
            return Err(hinted(
                format!("the Stripe key from {source} is empty"),
                "give a secret key (sk_…) or a restricted key (rk_…)",
            ));
        } else {
            return Err(hinted(
                format!("the Stripe key from {source} is not a Stripe API key (sk_… or rk_…)"),
                "copy a secret or restricted key from https://dashboard.stripe.com/apikeys",
            ));
        };
        Ok(Self {
            value: Zeroizing::new(value.to_owned()),
            mode,
            source: source.to_owned(),
        })
    }

    /// The key, for the Authorization header. Nothing else.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

/// The key the settings and the environment give, in Stripe's tools' order; an error
/// that says where a key is read from when none is given.
pub fn resolve(settings: &StripeSettings) -> Result<ApiKey> {
    given(settings)?.ok_or_else(no_key)
}

/// The key, if one is given anywhere (`None` if none is); a key given but unusable (not
/// a secret or restricted key, an unreadable file, an expired `stripe login`) is an
/// error. With `--stripe-live`, a test-mode key from anywhere is refused rather than used.
pub fn given(settings: &StripeSettings) -> Result<Option<ApiKey>> {
    let Some(key) = find(settings)? else {
        return Ok(None);
    };
    if settings.live && key.mode == Mode::Test {
        return Err(hinted(
            format!(
                "--stripe-live asks for live mode, but the key from {} is a test-mode key",
                key.source
            ),
            "give a live key (sk_live_… or rk_live_…), or leave out --stripe-live",
        ));
    }
    Ok(Some(key))
}

fn find(settings: &StripeSettings) -> Result<Option<ApiKey>> {
    if let Some(file) = &settings.key_file {
        let text = Zeroizing::new(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the Stripe key file {}", file.display()))?,
        );
        return ApiKey::new(&text, &format!("{}", file.display())).map(Some);
    }
    if let Some(key) = std::env::var("STRIPE_API_KEY").ok().map(Zeroizing::new) {
        return ApiKey::new(&key, "STRIPE_API_KEY").map(Some);
    }
    match cli_config_path() {
        Some(config) if config.exists() => from_cli_config(
            &config,
            settings.project.as_deref().unwrap_or("default"),
            settings.live,
        )
        .map(Some),
        _ => Ok(None),
    }
}

fn no_key() -> anyhow::Error {
    hinted(
        "no Stripe API key: STRIPE_API_KEY is not set, no --stripe-key-file was given, and the Stripe CLI has not stored one",
        "set STRIPE_API_KEY to a secret key, or to a restricted key with webhook endpoints write and events read (https://dashboard.stripe.com/apikeys), or run `stripe login`",
    )
}

/// Where the Stripe CLI keeps its configuration.
fn cli_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("stripe").join("config.toml"))
}

/// The key `stripe login` stored for `project`, in test or live mode.
fn from_cli_config(path: &Path, project: &str, live: bool) -> Result<ApiKey> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the Stripe CLI's {}", path.display()))?,
    );
    let config: toml::Table = text.parse().map_err(|_| {
        hinted(
            format!("the Stripe CLI's {} is not TOML", path.display()),
            "run `stripe login` again, or set STRIPE_API_KEY",
        )
    })?;
    let source = format!("the Stripe CLI's project {project}");
    let section = config
        .get(project)
        .and_then(|s| s.as_table())
        .ok_or_else(|| {
            hinted(
                format!(
                    "the Stripe CLI has no project {project} in {}",
                    path.display()
                ),
                format!("run `stripe login --project-name {project}`, or set STRIPE_API_KEY"),
            )
        })?;
    let (field, expires) = if live {
        ("live_mode_api_key", "live_mode_key_expires_at")
    } else {
        ("test_mode_api_key", "test_mode_key_expires_at")
    };
    let key = section.get(field).and_then(|k| k.as_str()).ok_or_else(|| {
        hinted(
            format!("{source} holds no {}", field.replace('_', " ")),
            if live {
                "the Stripe CLI keeps live keys in the system keychain: set STRIPE_API_KEY or give --stripe-key-file".to_owned()
            } else {
                format!("run `stripe login --project-name {project}`, or set STRIPE_API_KEY")
            },
        )
    })?;
    if let Some(date) = section.get(expires).and_then(|d| d.as_str())
        && date < today().as_str()
    {
        return Err(hinted(
            format!("the key {source} holds expired on {date}"),
            "run `stripe login` again (its keys last 90 days), or set STRIPE_API_KEY",
        ));
    }
    ApiKey::new(key, &source)
}

/// Today as YYYY-MM-DD, in UTC, as the Stripe CLI writes its keys' expiry.
fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Stripe CLI config file with `text`, in the temporary directory.
    fn config(text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "stripe-bridge-config-{}-{}.toml",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_stripe_cli_config_gives_each_project_and_mode_its_key() {
        let path = config(
            "color = \"\"\n[default]\ntest_mode_api_key = \"rk_test_default000\"\ntest_mode_key_expires_at = \"2999-01-01\"\n[shop]\ntest_mode_api_key = \"sk_test_shop000\"\nlive_mode_api_key = \"rk_live_shop000\"\n",
        );
        let key = from_cli_config(&path, "default", false).unwrap();
        assert_eq!((key.expose(), key.mode), ("rk_test_default000", Mode::Test));
        let live = from_cli_config(&path, "shop", true).unwrap();
        assert_eq!((live.expose(), live.mode), ("rk_live_shop000", Mode::Live));
        let missing = from_cli_config(&path, "default", true).unwrap_err();
        assert!(format!("{missing:#}").contains("holds no live mode api key"));
        let absent = from_cli_config(&path, "other", false).unwrap_err();
        assert!(format!("{absent:#}").contains("no project other"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn an_expired_login_key_is_refused_with_the_fix() {
        let path = config(
            "[default]\ntest_mode_api_key = \"rk_test_old000\"\ntest_mode_key_expires_at = \"2020-01-01\"\n",
        );
        let error = from_cli_config(&path, "default", false).unwrap_err();
        assert!(format!("{error:#}").contains("expired on 2020-01-01"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn keys_are_told_apart_and_never_shown() {
        assert_eq!(ApiKey::new("sk_live_abc", "x").unwrap().mode, Mode::Live);
        let error = ApiKey::new("pk_test_abc", "x").unwrap_err();
        assert!(error.to_string().contains("publishable key"));
        assert!(!format!("{error:#}").contains("pk_test_abc"));
        let key = ApiKey::new("sk_test_secretvalue", "STRIPE_API_KEY").unwrap();
        assert!(!format!("{key:?}").contains("secretvalue"));
    }
}
