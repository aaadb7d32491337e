//! The files of the sample tenant and the `FileProfile` table that describes them.
//!
//! The catalog holds the files that Live Response collects, analysts download and quarantine, and that indicators
//! block: signed Microsoft binaries, signed and unsigned third-party tools, scripts and documents, and one hack tool
//! with a threat name. Every catalog file gets a `FileProfile.jsonl` row; the catalog also holds a few *unknown*
//! files whose hashes are deliberately absent from the profile table, so the enrichment's "Missing" path is exercised.
//! Hashes are random lowercase hex of the right lengths; the signer hash is the SHA-256 of the signer name, so the
//! same signer always has the same hash.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::clock::{DAY, Instant};
use super::json::write_object;
use super::random::{SampleRng, between, hex, pick};

pub(crate) const FILE_NAME: &str = "FileProfile.jsonl";

/// How a file is signed.
struct Signature {
    signer: &'static str,
    issuer: &'static str,
    is_certificate_valid: bool,
    is_root_signer_microsoft: bool,
    state: &'static str,
}

const MICROSOFT_WINDOWS: Signature = Signature {
    signer: "Microsoft Windows",
    issuer: "Microsoft Windows Production PCA 2011",
    is_certificate_valid: true,
    is_root_signer_microsoft: true,
    state: "SignedValid",
};
const MICROSOFT_CORPORATION: Signature = Signature {
    signer: "Microsoft Corporation",
    issuer: "Microsoft Code Signing PCA 2011",
    is_certificate_valid: true,
    is_root_signer_microsoft: true,
    state: "SignedValid",
};
const UNSIGNED: Signature = Signature {
    signer: "",
    issuer: "",
    is_certificate_valid: false,
    is_root_signer_microsoft: false,
    state: "Unsigned",
};
const NOT_APPLICABLE: Signature = Signature {
    signer: "",
    issuer: "",
    is_certificate_valid: false,
    is_root_signer_microsoft: false,
    state: "Unknown",
};

const fn third_party(signer: &'static str, issuer: &'static str, valid: bool) -> Signature {
    Signature {
        signer,
        issuer,
        is_certificate_valid: valid,
        is_root_signer_microsoft: false,
        state: if valid { "SignedValid" } else { "SignedInvalid" },
    }
}

/// A kind of file in the tenant; the catalog holds one or more versions (different hashes) of each.
struct FileTemplate {
    name: &'static str,
    size: (i64, i64),
    signature: Signature,
    is_executable: bool,
    threat_name: &'static str,
    publisher: &'static str,
    software_name: &'static str,
    /// Global prevalence range: Windows binaries are on millions of machines, dropped tools on a handful.
    prevalence: (i64, i64),
    /// Worth collecting, quarantining or blocking.
    suspicious: bool,
}

const TEMPLATES: [FileTemplate; 18] = [
    windows("powershell.exe", 450_000, "Windows PowerShell"),
    windows("rundll32.exe", 71_000, "Microsoft Windows Operating System"),
    windows("certutil.exe", 1_600_000, "Microsoft Windows Operating System"),
    windows("mshta.exe", 14_000, "Microsoft Windows Operating System"),
    FileTemplate {
        name: "procdump64.exe",
        size: (420_000, 440_000),
        signature: MICROSOFT_CORPORATION,
        is_executable: true,
        threat_name: "",
        publisher: "Sysinternals - www.sysinternals.com",
        software_name: "ProcDump",
        prevalence: (200_000, 900_000),
        suspicious: true,
    },
    tool("AnyDesk.exe", (5_000_000, 6_500_000), third_party("philandro Software GmbH", "DigiCert", true), "AnyDesk"),
    tool("putty.exe", (1_500_000, 1_700_000), third_party("Simon Tatham", "Sectigo RSA", true), "PuTTY"),
    tool("7z.exe", (540_000, 560_000), UNSIGNED, "7-Zip"),
    tool("rclone.exe", (52_000_000, 60_000_000), UNSIGNED, "Rclone"),
    tool("nssm.exe", (330_000, 370_000), third_party("Iain Patterson", "Sectigo RSA", false), "NSSM"),
    FileTemplate {
        name: "mimikatz.exe",
        size: (1_250_000, 1_360_000),
        signature: third_party("Open Source Developer, Benjamin Delpy", "Certum Code Signing CA", false),
        is_executable: true,
        threat_name: "HackTool:Win32/Mimikatz",
        publisher: "gentilkiwi (Benjamin DELPY)",
        software_name: "mimikatz",
        prevalence: (1, 400),
        suspicious: true,
    },
    dropped("svc_update.exe", (90_000, 250_000), true),
    dropped("payload.dll", (60_000, 200_000), true),
    dropped("run.bat", (200, 4_000), false),
    dropped("Invoke-Collector.ps1", (3_000, 40_000), false),
    document("Invoice_2026-0113.docm", (40_000, 300_000)),
    document("HR-salaries-2026.xlsx", (20_000, 900_000)),
    document("ConsoleHost_history.txt", (500, 60_000)),
];

const fn windows(name: &'static str, size: i64, software_name: &'static str) -> FileTemplate {
    FileTemplate {
        name,
        size: (size, size + size / 10),
        signature: MICROSOFT_WINDOWS,
        is_executable: true,
        threat_name: "",
        publisher: "Microsoft Corporation",
        software_name,
        prevalence: (5_000_000, 90_000_000),
        suspicious: false,
    }
}

const fn tool(name: &'static str, size: (i64, i64), signature: Signature, software_name: &'static str) -> FileTemplate {
    FileTemplate {
        name,
        size,
        publisher: signature.signer,
        signature,
        is_executable: true,
        threat_name: "",
        software_name,
        prevalence: (20_000, 3_000_000),
        suspicious: true,
    }
}

const fn dropped(name: &'static str, size: (i64, i64), is_executable: bool) -> FileTemplate {
    FileTemplate {
        name,
        size,
        signature: if is_executable { UNSIGNED } else { NOT_APPLICABLE },
        is_executable,
        threat_name: "",
        publisher: "",
        software_name: "",
        prevalence: (1, 60),
        suspicious: true,
    }
}

const fn document(name: &'static str, size: (i64, i64)) -> FileTemplate {
    FileTemplate {
        name,
        size,
        signature: NOT_APPLICABLE,
        is_executable: false,
        threat_name: "",
        publisher: "",
        software_name: "",
        prevalence: (1, 20),
        suspicious: false,
    }
}

/// One file version with its hashes.
#[derive(Clone, Debug)]
pub(crate) struct SampleFile {
    pub(crate) name: &'static str,
    pub(crate) sha1: String,
    pub(crate) sha256: String,
    pub(crate) md5: String,
    pub(crate) size: i64,
    template: usize,
    prevalence: i64,
    first_seen: Instant,
    last_seen: Instant,
}

pub(crate) struct FileCatalog {
    /// Files with a `FileProfile` row.
    pub(crate) known: Vec<SampleFile>,
    /// Files seen in the audit data whose hashes are absent from `FileProfile`.
    pub(crate) unknown: Vec<SampleFile>,
}

impl FileCatalog {
    /// `known_count` profiled files (at least one version of every template) and `unknown_count` unprofiled ones.
    pub(crate) fn generate(rng: &mut SampleRng, known_count: usize, unknown_count: usize, now: Instant) -> FileCatalog {
        let known_count = known_count.max(TEMPLATES.len());
        let known = (0..known_count).map(|position| sample_file(rng, position % TEMPLATES.len(), now)).collect();
        let rare: Vec<usize> = (0..TEMPLATES.len())
            .filter(|template| TEMPLATES[*template].suspicious && TEMPLATES[*template].prevalence.1 <= 400)
            .collect();
        let unknown = (0..unknown_count.max(1))
            .map(|_| {
                let template = *pick(rng, &rare);
                sample_file(rng, template, now)
            })
            .collect();
        FileCatalog { known, unknown }
    }

    pub(crate) fn random_known(&self, rng: &mut SampleRng) -> &SampleFile {
        pick(rng, &self.known)
    }

    /// A profiled file worth collecting, quarantining or blocking (tools, dropped binaries, the hack tool).
    pub(crate) fn random_suspicious(&self, rng: &mut SampleRng) -> &SampleFile {
        for _ in 0..16 {
            let file = self.random_known(rng);
            if TEMPLATES[file.template].suspicious {
                return file;
            }
        }
        self.random_known(rng)
    }

    pub(crate) fn random_unknown(&self, rng: &mut SampleRng) -> &SampleFile {
        pick(rng, &self.unknown)
    }

    /// Writes one `FileProfile` row per known file; returns the number of rows.
    pub(crate) fn write_profiles(&self, writer: &mut impl Write) -> io::Result<usize> {
        let mut line = Vec::with_capacity(1_024);
        for file in &self.known {
            line.clear();
            write_profile(&mut line, file);
            line.push(b'\n');
            writer.write_all(&line)?;
        }
        Ok(self.known.len())
    }
}

fn sample_file(rng: &mut SampleRng, template: usize, now: Instant) -> SampleFile {
    let kind = &TEMPLATES[template];
    let first_seen = now.plus(-between(rng, 20 * DAY, 3_000 * DAY));
    let last_seen = now.plus(-between(rng, 0, 2 * DAY));
    SampleFile {
        name: kind.name,
        sha1: hex(rng, 40),
        sha256: hex(rng, 64),
        md5: hex(rng, 32),
        size: between(rng, kind.size.0, kind.size.1 + 1),
        template,
        prevalence: between(rng, kind.prevalence.0, kind.prevalence.1 + 1),
        first_seen,
        last_seen: first_seen.max(last_seen),
    }
}

/// The FileProfile columns, in the order of the documented `FileProfile()` output.
fn write_profile(line: &mut Vec<u8>, file: &SampleFile) {
    let kind = &TEMPLATES[file.template];
    let signature = &kind.signature;
    write_object(line, |row| {
        row.string("SHA1", &file.sha1)
            .string("SHA256", &file.sha256)
            .string("MD5", &file.md5)
            .integer("FileSize", file.size)
            .integer("GlobalPrevalence", file.prevalence)
            .raw_string_bytes("GlobalFirstSeen", &file.first_seen.timestamp_text())
            .raw_string_bytes("GlobalLastSeen", &file.last_seen.timestamp_text())
            .string("Signer", signature.signer)
            .string("Issuer", signature.issuer)
            .string("SignerHash", &signer_hash(signature.signer))
            .boolean("IsCertificateValid", signature.is_certificate_valid)
            .boolean("IsRootSignerMicrosoft", signature.is_root_signer_microsoft)
            .string("SignatureState", signature.state)
            .boolean("IsExecutable", kind.is_executable)
            .string("ThreatName", kind.threat_name)
            .string("Publisher", kind.publisher)
            .string("SoftwareName", kind.software_name)
            .string("ProfileAvailability", "Available");
    });
}

/// The signer's certificate thumbprint stand-in: 40 hex digits derived from the signer name; empty when unsigned.
fn signer_hash(signer: &str) -> String {
    if signer.is_empty() {
        return String::new();
    }
    let digest = Sha256::digest(signer.as_bytes());
    digest.iter().take(20).map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_template_is_profiled_and_unknown_files_are_not() {
        let mut rng = SampleRng::seed_from_u64(5);
        let now = Instant::from_datetime(chrono::DateTime::UNIX_EPOCH).plus(20_000 * DAY);
        let catalog = FileCatalog::generate(&mut rng, 10, 2, now);
        assert_eq!(catalog.known.len(), TEMPLATES.len());
        assert_eq!(catalog.unknown.len(), 2);
        let mut output = Vec::new();
        assert_eq!(catalog.write_profiles(&mut output).expect("writing to memory"), TEMPLATES.len());
        let text = String::from_utf8(output).expect("UTF-8");
        for unknown in &catalog.unknown {
            assert!(!text.contains(&unknown.sha256));
        }
        let mimikatz = text.lines().find(|line| line.contains("Mimikatz")).expect("the hack tool is profiled");
        let row: serde_json::Value = serde_json::from_str(mimikatz).expect("valid JSON");
        assert_eq!(row["ThreatName"], "HackTool:Win32/Mimikatz");
        assert_eq!(row["SHA256"].as_str().map(str::len), Some(64));
    }
}
