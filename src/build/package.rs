//! The relay's Lambda artifact: a zip holding one executable `bootstrap`, byte-for-byte
//! reproducible (fixed time, mode and order) and named by its content hash, so the hash
//! changes only when the code does; and the checks that Lambda can run a prebuilt one.
//! `relay_build.rs` makes the binary.

use std::io::{Cursor, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// Lambda's provided.al2023 runtime has glibc 2.34: a binary that needs a newer symbol
/// does not start there.
pub const LAMBDA_GLIBC: (u32, u32) = (2, 34);

/// A Lambda architecture (arm64 is Graviton).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Architecture {
    #[value(name = "x86_64")]
    X86_64,
    Arm64,
}

impl Architecture {
    /// The architecture Lambda calls `name` (`x86_64`, `arm64`).
    pub fn from_lambda_name(name: &str) -> Option<Self> {
        [Self::X86_64, Self::Arm64]
            .into_iter()
            .find(|arch| arch.lambda_name() == name)
    }

    /// The name Lambda uses.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    pub fn rust_target(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64-unknown-linux-gnu",
            Self::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }
}

/// A packaged relay, ready to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub zip: Vec<u8>,
    /// Lowercase hex SHA-256 of `zip`.
    pub sha256: String,
}

impl Artifact {
    /// The S3 key: the content hash, so an unchanged relay is never uploaded twice.
    /// A zip as it is, with its SHA-256.
    pub fn of_zip(zip: Vec<u8>) -> Self {
        let sha256 = hex::encode(Sha256::digest(&zip));
        Self { zip, sha256 }
    }

    pub fn key(&self) -> String {
        format!("relay/{}.zip", self.sha256)
    }
}

/// Zips `bootstrap` the same way every time.
pub fn package(bootstrap: &[u8]) -> Result<Artifact> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(bootstrap)?;
    let zip = writer.finish()?.into_inner();
    let sha256 = hex::encode(Sha256::digest(&zip));
    Ok(Artifact { zip, sha256 })
}

/// Reads a prebuilt zip (`deploy --artifact`), checking that Lambda can run it on
/// `arch`.
pub fn load_prebuilt(path: &Path, arch: Architecture) -> Result<Artifact> {
    let zip = std::fs::read(path)
        .with_context(|| format!("cannot read the artifact {}", path.display()))?;
    // The zip crate's reason ("Could not find EOCD") says nothing more to a person.
    let mut archive = ZipArchive::new(Cursor::new(&zip)).map_err(|_| {
        anyhow::anyhow!(
            "{} is not a zip file; pass a zip holding the relay's `bootstrap` (`stripe-bridge package` makes one)",
            path.display()
        )
    })?;
    let mut bootstrap = archive.by_name("bootstrap").map_err(|_| {
        anyhow::anyhow!(
            "{} has no `bootstrap` at its top level; Lambda's provided.al2023 runtime starts that file",
            path.display()
        )
    })?;
    if bootstrap.unix_mode().is_some_and(|mode| mode & 0o111 == 0) {
        bail!(
            "`bootstrap` in {} is not executable; zip it with mode 755",
            path.display()
        );
    }
    let mut binary = Vec::new();
    bootstrap.read_to_end(&mut binary)?;
    check_machine(&binary, arch, path)?;
    check_glibc(&binary)?;
    drop(bootstrap);
    let sha256 = hex::encode(Sha256::digest(&zip));
    Ok(Artifact { zip, sha256 })
}

/// The architecture a 64-bit little-endian ELF binary is for, from its header's
/// `e_machine` (bytes 18 and 19); `None` for anything else, such as a `bootstrap` that
/// is a shell script, which runs on either.
pub fn elf_architecture(binary: &[u8]) -> Option<Result<Architecture, u16>> {
    const ELFCLASS64: u8 = 2;
    const ELFDATA2LSB: u8 = 1;
    let header = binary.get(..20)?;
    if &header[..4] != b"\x7fELF" || header[4] != ELFCLASS64 || header[5] != ELFDATA2LSB {
        return None;
    }
    Some(match u16::from_le_bytes([header[18], header[19]]) {
        62 => Ok(Architecture::X86_64),
        183 => Ok(Architecture::Arm64),
        other => Err(other),
    })
}

/// Refuses a binary built for another machine than the function will run on.
fn check_machine(binary: &[u8], arch: Architecture, path: &Path) -> Result<()> {
    match elf_architecture(binary) {
        None => Ok(()),
        Some(Ok(built)) if built == arch => Ok(()),
        Some(built) => {
            let built = match built {
                Ok(built) => built.lambda_name().to_owned(),
                Err(machine) => format!("ELF machine {machine}"),
            };
            Err(crate::hint::hinted(
                format!(
                    "the `bootstrap` in {} is built for {built}, but the function would run on {}",
                    path.display(),
                    arch.lambda_name()
                ),
                format!(
                    "pass --arch to match the zip, or package it again with `stripe-bridge package --arch {}`",
                    arch.lambda_name()
                ),
            ))
        }
    }
}

/// The newest `GLIBC_x.y` version an ELF binary asks for, if any. The version names
/// are plain strings in the dynamic string table, so a scan finds them all.
pub fn newest_glibc(binary: &[u8]) -> Option<(u32, u32)> {
    const MARK: &[u8] = b"GLIBC_";
    let mut newest = None;
    let mut rest = binary;
    while let Some(at) = rest.windows(MARK.len()).position(|w| w == MARK) {
        let version: Vec<u8> = rest[at + MARK.len()..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .copied()
            .collect();
        let mut parts = std::str::from_utf8(&version)
            .unwrap_or_default()
            .split('.')
            .map(|p| p.parse::<u32>());
        if let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) {
            newest = newest.max(Some((major, minor)));
        }
        rest = &rest[at + MARK.len()..];
    }
    newest
}

pub fn check_glibc(binary: &[u8]) -> Result<()> {
    match newest_glibc(binary) {
        Some(needed) if needed > LAMBDA_GLIBC => bail!(
            "the relay needs glibc {}.{}, but Lambda's provided.al2023 has {}.{}; build it on an \
             older system, or with cargo zigbuild and a target that names glibc 2.34 (e.g. `--target aarch64-unknown-linux-gnu.2.34`)",
            needed.0,
            needed.1,
            LAMBDA_GLIBC.0,
            LAMBDA_GLIBC.1
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packaging_is_reproducible_and_named_by_content() {
        let first = package(b"\x7fELF binary").unwrap();
        let again = package(b"\x7fELF binary").unwrap();
        assert_eq!(first, again);
        assert_ne!(package(b"\x7fELF other").unwrap().sha256, first.sha256);
        assert_eq!(first.key(), format!("relay/{}.zip", first.sha256));
    }

    #[test]
    fn the_zip_holds_an_executable_bootstrap() {
        let artifact = package(b"binary").unwrap();
        let mut archive = ZipArchive::new(Cursor::new(&artifact.zip)).unwrap();
        assert_eq!(archive.len(), 1);
        let file = archive.by_name("bootstrap").unwrap();
        assert_eq!(file.unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    #[test]
    fn a_prebuilt_artifact_is_checked() {
        let dir = std::env::temp_dir().join(format!("sb-artifact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.zip");
        std::fs::write(&good, package(b"binary GLIBC_2.17").unwrap().zip).unwrap();
        assert!(load_prebuilt(&good, Architecture::X86_64).is_ok());

        let not_zip = dir.join("not.zip");
        std::fs::write(&not_zip, b"hello").unwrap();
        assert!(
            load_prebuilt(&not_zip, Architecture::X86_64)
                .unwrap_err()
                .to_string()
                .contains("not a zip")
        );

        let too_new = dir.join("new.zip");
        std::fs::write(&too_new, package(b"GLIBC_2.17 GLIBC_2.38").unwrap().zip).unwrap();
        let error = load_prebuilt(&too_new, Architecture::X86_64)
            .unwrap_err()
            .to_string();
        assert!(error.contains("glibc 2.38"), "{error}");

        let x86 = dir.join("x86.zip");
        std::fs::write(&x86, package(&elf_header(62)).unwrap().zip).unwrap();
        assert!(load_prebuilt(&x86, Architecture::X86_64).is_ok());
        let error = load_prebuilt(&x86, Architecture::Arm64)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("built for x86_64, but the function would run on arm64"),
            "{error}"
        );
    }

    /// The first bytes of a 64-bit little-endian ELF binary for `machine`.
    fn elf_header(machine: u16) -> Vec<u8> {
        let mut header = b"\x7fELF\x02\x01\x01".to_vec();
        header.resize(18, 0);
        header.extend_from_slice(&machine.to_le_bytes());
        header.extend_from_slice(b" GLIBC_2.17");
        header
    }

    #[test]
    fn an_elf_binary_says_which_machine_it_is_for() {
        assert_eq!(
            elf_architecture(&elf_header(62)),
            Some(Ok(Architecture::X86_64))
        );
        assert_eq!(
            elf_architecture(&elf_header(183)),
            Some(Ok(Architecture::Arm64))
        );
        assert_eq!(elf_architecture(&elf_header(40)), Some(Err(40)));
        assert_eq!(elf_architecture(b"#!/bin/sh\nexec ./relay\n"), None);
    }

    #[test]
    fn the_newest_glibc_is_found() {
        assert_eq!(
            newest_glibc(b"GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0"),
            Some((2, 34))
        );
        assert_eq!(newest_glibc(b"no libc here"), None);
    }
}
