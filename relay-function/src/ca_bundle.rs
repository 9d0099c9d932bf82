//! Which file the relay's TLS roots are read from. The AWS SDK trusts the system's roots
//! through rustls-native-certs, which, unless told otherwise, reads the system's bundle
//! file and then every file in the system's certificate directories. On Amazon Linux 2023
//! (`provided.al2023`) the bundle holds all 143 roots and `/etc/ssl/certs` holds them again,
//! one file each beside 286 hash links: some 430 more system calls and 143 more parses on
//! every cold start, for no new root (golang/go#79018 measured it on Lambda;
//! DataDog/datadog-lambda-extension#1047 saw the same from rustls-native-certs). Here it
//! was 3 of the 10 ms from exec to the first Runtime API poll.
//!
//! rustls-native-certs reads only the file named by `SSL_CERT_FILE` when that is set
//! (`load_native_certs`, its documentation), so the relay names the system bundle there
//! before anything else runs. The trust is unchanged: the same roots, from the file the
//! operating system keeps up to date.

use std::ffi::OsStr;
use std::path::Path;

/// The system bundle files, in the order tried: Amazon Linux 2023 (and Fedora, RHEL), then
/// Debian and Ubuntu, where the relay runs under `stripe-bridge dev` and the benches.
pub const SYSTEM_BUNDLES: [&str; 2] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
];

/// The bundle to name in `SSL_CERT_FILE`, or `None` to leave rustls-native-certs to its
/// own search: when `SSL_CERT_FILE` or `SSL_CERT_DIR` is already set (someone chose), or
/// when no known bundle exists here (a wrong guess would leave the relay trusting
/// nothing).
pub fn bundle_to_name(
    cert_file: Option<&OsStr>,
    cert_dir: Option<&OsStr>,
    exists: impl Fn(&Path) -> bool,
) -> Option<&'static str> {
    if cert_file.is_some() || cert_dir.is_some() {
        return None;
    }
    SYSTEM_BUNDLES
        .into_iter()
        .find(|bundle| exists(Path::new(bundle)))
}

/// Names the system bundle in `SSL_CERT_FILE` when `bundle_to_name` finds one.
///
/// Call it first thing in `main`, before any thread starts: changing the environment is
/// only sound while no other thread can read it.
pub fn name_system_bundle() {
    // `var_os`: a path that is not UTF-8 is still a choice made.
    let chosen = bundle_to_name(
        std::env::var_os("SSL_CERT_FILE").as_deref(),
        std::env::var_os("SSL_CERT_DIR").as_deref(),
        Path::is_file,
    );
    if let Some(bundle) = chosen {
        // SAFETY: called from `main` before the async runtime or anything else has
        // started a thread, so nothing reads the environment concurrently.
        unsafe { std::env::set_var("SSL_CERT_FILE", bundle) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_system_bundle_present_is_named() {
        let only_debian = |p: &Path| p == Path::new("/etc/ssl/certs/ca-certificates.crt");
        assert_eq!(
            bundle_to_name(None, None, only_debian),
            Some("/etc/ssl/certs/ca-certificates.crt")
        );
        assert_eq!(
            bundle_to_name(None, None, |_| true),
            Some("/etc/pki/tls/certs/ca-bundle.crt")
        );
    }

    #[test]
    fn a_choice_already_made_or_no_bundle_leaves_the_search_alone() {
        let chosen = Some(OsStr::new("/my/roots"));
        assert_eq!(bundle_to_name(chosen, None, |_| true), None);
        assert_eq!(bundle_to_name(None, chosen, |_| true), None);
        assert_eq!(bundle_to_name(None, None, |_| false), None);
    }
}
