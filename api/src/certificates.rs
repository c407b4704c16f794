//! TLS certificates of a service: reading uploads (x509-parser), matching a private key
//! to a certificate, and making certificate signing requests with their keys (rcgen).
//!
//! Everything here is pure CPU work without I/O; the routes run it off the actix
//! threads. Private keys never leave this module in clear except to be sealed.
//!
//! Keys that load (ring through rcgen): PKCS#8 (`PRIVATE KEY`) with ECDSA P-256,
//! ECDSA P-384, Ed25519 or RSA (2048-8192 bits), and the same keys in the older forms
//! `RSA PRIVATE KEY` (PKCS#1) and `EC PRIVATE KEY` (SEC1, with its public key, as
//! OpenSSL writes it), which are rewrapped as PKCS#8. Refused (`422 unsupported_key`):
//! encrypted keys (`ENCRYPTED PRIVATE KEY`, `Proc-Type: 4,ENCRYPTED`), P-521, DSA,
//! Ed448, RSA below 2048 bits.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData, PKCS_ECDSA_P256_SHA256};
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use hostadmin_domain::validation::Invalid;

/// The longest PEM text of one certificate or one key: real ones are 1-8 KiB.
pub const MAX_PEM_BYTES: usize = 16 * 1024;
/// The longest chain text; the request body is at most 64 KiB anyway.
pub const MAX_CHAIN_BYTES: usize = 48 * 1024;
/// The most certificates a chain may hold: real chains have 1-3.
pub const MAX_CHAIN_CERTIFICATES: usize = 10;
/// The most names a CSR may ask for (the common name included); public CAs allow 100.
pub const MAX_CSR_NAMES: usize = 100;

/// An uploaded certificate, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCertificate {
    /// The certificate re-encoded from its DER: one clean `CERTIFICATE` block.
    pub pem: String,
    /// RFC 4514 form, e.g. `CN=www.example.test`.
    pub subject: String,
    pub issuer: String,
    /// The subject's first common name; else the first DNS name; else empty.
    pub common_name: String,
    /// DNS names and IP addresses of the subjectAltName extension, in order.
    pub sans: Vec<String>,
    pub not_before: NaiveDateTime,
    pub not_after: NaiveDateTime,
    /// SHA-256 (hex) of the SubjectPublicKeyInfo DER.
    pub public_key_sha256: String,
    spki_der: Vec<u8>,
    subject_der: Vec<u8>,
    issuer_der: Vec<u8>,
}

/// A private key that loaded, kept as PKCS#8 PEM. Its `Debug` shows nothing of it.
pub struct PrivateKey {
    pkcs8_pem: String,
    spki_der: Vec<u8>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(***)")
    }
}

impl PrivateKey {
    /// The key as PKCS#8 PEM, to be sealed at once.
    pub fn pkcs8_pem(&self) -> &str {
        &self.pkcs8_pem
    }

    /// SHA-256 (hex) of its public key's SubjectPublicKeyInfo DER.
    pub fn public_key_sha256(&self) -> String {
        sha256_hex(&self.spki_der)
    }
}

/// A new key and its certificate signing request.
pub struct GeneratedCsr {
    pub csr_pem: String,
    pub key: PrivateKey,
}

impl fmt::Debug for GeneratedCsr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedCsr").field("csr_pem", &self.csr_pem).field("key", &self.key).finish()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn pem_of(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

/// The PEM blocks of `text`: at least one, at most `max`, each labelled `label`.
fn blocks(text: &str, label: &str, max: usize) -> Result<Vec<Vec<u8>>, Invalid> {
    let mut found = Vec::new();
    for block in Pem::iter_from_buffer(text.as_bytes()) {
        let block = block.map_err(|e| Invalid::new("invalid_pem", format!("not valid PEM: {e}")))?;
        if block.label != label {
            return Err(Invalid::new("invalid_pem", format!("expected {label} blocks, found {}", block.label)));
        }
        found.push(block.contents);
        if found.len() > max {
            return Err(Invalid::new("too_long", format!("at most {max} {label} blocks")));
        }
    }
    if found.is_empty() {
        return Err(Invalid::new("invalid_pem", format!("no -----BEGIN {label}----- block")));
    }
    Ok(found)
}

fn time_of(at: x509_parser::time::ASN1Time) -> Result<NaiveDateTime, Invalid> {
    DateTime::from_timestamp(at.timestamp(), 0)
        .map(|at| at.naive_utc())
        .ok_or_else(|| Invalid::new("invalid_certificate", "a validity date is out of range"))
}

fn read_der(der: &[u8]) -> Result<ParsedCertificate, Invalid> {
    let (rest, certificate) = X509Certificate::from_der(der)
        .map_err(|e| Invalid::new("invalid_certificate", format!("not an X.509 certificate: {e}")))?;
    if !rest.is_empty() {
        return Err(Invalid::new("invalid_certificate", "trailing bytes after the certificate"));
    }
    let mut sans = Vec::new();
    let extension = certificate
        .subject_alternative_name()
        .map_err(|e| Invalid::new("invalid_certificate", format!("the subjectAltName extension: {e}")))?;
    for name in extension.iter().flat_map(|extension| extension.value.general_names.iter()) {
        match name {
            GeneralName::DNSName(name) => sans.push(name.to_ascii_lowercase()),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => sans.push(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*bytes).unwrap_or_default()).to_string()),
                16 => sans.push(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*bytes).unwrap_or_default()).to_string()),
                _ => {}
            },
            // Mail addresses, URIs and others say nothing about which web names it serves.
            _ => {}
        }
    }
    let subject = certificate.subject();
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
        .or_else(|| sans.first().cloned())
        .unwrap_or_default();
    let spki_der = certificate.public_key().raw.to_vec();
    Ok(ParsedCertificate {
        pem: pem_of("CERTIFICATE", der),
        subject: subject.to_string(),
        issuer: certificate.issuer().to_string(),
        common_name,
        sans,
        not_before: time_of(certificate.validity().not_before)?,
        not_after: time_of(certificate.validity().not_after)?,
        public_key_sha256: sha256_hex(&spki_der),
        spki_der,
        subject_der: subject.as_raw().to_vec(),
        issuer_der: certificate.issuer().as_raw().to_vec(),
    })
}

/// Reads one certificate (exactly one `CERTIFICATE` block). Any input gives a result or
/// a refusal, never a panic.
pub fn parse_certificate(text: &str) -> Result<ParsedCertificate, Invalid> {
    if text.len() > MAX_PEM_BYTES {
        return Err(Invalid::new("too_long", format!("at most {MAX_PEM_BYTES} bytes")));
    }
    let der = blocks(text, "CERTIFICATE", 1)?;
    read_der(der.first().map(Vec::as_slice).unwrap_or_default())
}

/// Reads a chain of 1-10 certificates. The first must be the issuer of `leaf` (its
/// subject is the leaf's issuer name): a chain for another certificate would make
/// browsers fail. Signatures are not verified here (the CA is the judge of that, and
/// the server has no trust store); each certificate must only parse.
pub fn parse_chain(text: &str, leaf: &ParsedCertificate) -> Result<Vec<ParsedCertificate>, Invalid> {
    if text.len() > MAX_CHAIN_BYTES {
        return Err(Invalid::new("too_long", format!("at most {MAX_CHAIN_BYTES} bytes")));
    }
    let chain = blocks(text, "CERTIFICATE", MAX_CHAIN_CERTIFICATES)?
        .iter()
        .enumerate()
        .map(|(index, der)| {
            read_der(der)
                .map_err(|invalid| Invalid::new(invalid.code, format!("certificate {index}: {}", invalid.detail)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if chain.first().is_some_and(|first| first.subject_der != leaf.issuer_der) {
        return Err(Invalid::new(
            "chain_mismatch",
            "the chain's first certificate must be the one that issued the certificate (its subject is the certificate's issuer)",
        ));
    }
    Ok(chain)
}

/// Wraps a DER value in a tag with a definite length.
fn der_wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// PKCS#8 `PrivateKeyInfo` of a traditional key: version 0, the algorithm, the key.
fn pkcs8_of(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend(der_wrap(0x30, algorithm));
    body.extend(der_wrap(0x04, key));
    der_wrap(0x30, &body)
}

const RSA_ENCRYPTION: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// Loads a private key (see the module's list of what loads).
pub fn parse_private_key(text: &str) -> Result<PrivateKey, Invalid> {
    if text.len() > MAX_PEM_BYTES {
        return Err(Invalid::new("too_long", format!("at most {MAX_PEM_BYTES} bytes")));
    }
    if text.contains("ENCRYPTED") {
        return Err(Invalid::new("unsupported_key", "the key is encrypted; upload it without a passphrase"));
    }
    let mut found = None;
    for block in Pem::iter_from_buffer(text.as_bytes()) {
        let block = block.map_err(|e| Invalid::new("invalid_pem", format!("not valid PEM: {e}")))?;
        if found.is_some() {
            return Err(Invalid::new("invalid_pem", "exactly one key block"));
        }
        found = Some(block);
    }
    let block = found.ok_or_else(|| Invalid::new("invalid_pem", "no -----BEGIN PRIVATE KEY----- block"))?;
    let candidates: Vec<Vec<u8>> = match block.label.as_str() {
        "PRIVATE KEY" => vec![block.contents],
        "RSA PRIVATE KEY" => vec![pkcs8_of(RSA_ENCRYPTION, &block.contents)],
        "EC PRIVATE KEY" => {
            [P256, P384].iter().map(|curve| pkcs8_of(&[EC_PUBLIC_KEY, *curve].concat(), &block.contents)).collect()
        }
        other => return Err(Invalid::new("invalid_pem", format!("expected a PRIVATE KEY block, found {other}"))),
    };
    let unsupported = || {
        Invalid::new(
            "unsupported_key",
            "the key does not load: use an unencrypted PKCS#8, PKCS#1 or SEC1 key, ECDSA P-256/P-384, Ed25519 or RSA of 2048-8192 bits",
        )
    };
    let (der, pair) = candidates
        .into_iter()
        .find_map(|der| KeyPair::try_from(der.as_slice()).ok().map(|pair| (der, pair)))
        .ok_or_else(unsupported)?;
    Ok(PrivateKey { pkcs8_pem: pem_of("PRIVATE KEY", &der), spki_der: pair.subject_public_key_info() })
}

/// Whether `key` is the private half of the certificate's public key: the same
/// algorithm (with its parameters, e.g. the curve) and the same public key bits.
/// Compared field by field rather than as bytes, so that an equivalent encoding of the
/// same key still matches.
pub fn key_matches(certificate: &ParsedCertificate, key: &PrivateKey) -> bool {
    fn parse(der: &[u8]) -> Option<SubjectPublicKeyInfo<'_>> {
        SubjectPublicKeyInfo::from_der(der).ok().map(|(_, spki)| spki)
    }
    match (parse(&certificate.spki_der), parse(&key.spki_der)) {
        (Some(ours), Some(theirs)) => {
            ours.algorithm.algorithm == theirs.algorithm.algorithm
                && ours.algorithm.parameters.as_ref().map(|p| p.data.to_vec()).filter(|p| p != &[0x05, 0x00])
                    == theirs.algorithm.parameters.as_ref().map(|p| p.data.to_vec()).filter(|p| p != &[0x05, 0x00])
                && ours.subject_public_key.data == theirs.subject_public_key.data
        }
        _ => false,
    }
}

/// A name a CSR may ask for: a host name, or `*.` and a host name (RFC 6125 6.4.3
/// allows the wildcard only as the whole left-most label). Lowercase ASCII; Unicode
/// names are given in their punycode (`xn--`) form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateName(String);

impl CertificateName {
    pub fn parse(given: &str) -> Result<Self, Invalid> {
        let name = given.strip_suffix('.').unwrap_or(given).to_ascii_lowercase();
        if name.is_empty() || name.len() > 253 {
            return Err(Invalid::new("invalid_length", "a name is 1 to 253 characters"));
        }
        let host = name.strip_prefix("*.").unwrap_or(&name);
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() < 2 {
            return Err(Invalid::new("invalid_name", "a certificate names a domain with at least two labels"));
        }
        for label in &labels {
            let ldh = label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if label.is_empty() || label.len() > 63 || !ldh || label.starts_with('-') || label.ends_with('-') {
                return Err(Invalid::new(
                    "invalid_name",
                    "labels are 1-63 letters, digits and hyphens, not starting or ending with a hyphen (RFC 1123); `*.` only in front; Unicode names in punycode",
                ));
            }
        }
        if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
            return Err(Invalid::new("invalid_name", "a name whose last label is all digits is not a host name"));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new ECDSA P-256 key and a CSR for `common_name` with the subject alternative
/// names `common_name` and `sans` (browsers read only the SANs, so the common name is
/// one of them too), each once.
pub fn generate_csr(common_name: &CertificateName, sans: &[CertificateName]) -> Result<GeneratedCsr, String> {
    let mut names: Vec<String> = vec![common_name.as_str().to_owned()];
    for name in sans {
        if !names.iter().any(|n| n == name.as_str()) {
            names.push(name.as_str().to_owned());
        }
    }
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| format!("key generation: {e}"))?;
    let mut params = CertificateParams::new(names).map_err(|e| format!("CSR names: {e}"))?;
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, common_name.as_str());
    params.distinguished_name = subject;
    let csr = params.serialize_request(&key).map_err(|e| format!("CSR: {e}"))?;
    let csr_pem = csr.pem().map_err(|e| format!("CSR PEM: {e}"))?;
    Ok(GeneratedCsr {
        csr_pem,
        key: PrivateKey { pkcs8_pem: key.serialize_pem(), spki_der: key.subject_public_key_info() },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rcgen::{CertificateParams, Issuer, KeyPair, PKCS_ECDSA_P384_SHA384, PKCS_ED25519, PKCS_RSA_SHA256};

    fn certificate(key: &KeyPair, names: &[&str]) -> String {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        CertificateParams::new(names).unwrap().self_signed(key).unwrap().pem()
    }

    #[test]
    fn reads_subject_sans_issuer_and_validity() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["www.example.test".into(), "example.test".into()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "www.example.test");
        params.not_after = rcgen::date_time_ymd(2040, 1, 2);
        let parsed = parse_certificate(&params.self_signed(&key).unwrap().pem()).unwrap();
        assert_eq!(parsed.common_name, "www.example.test");
        assert_eq!(parsed.sans, vec!["www.example.test", "example.test"]);
        assert!(parsed.subject.contains("CN=www.example.test"), "{}", parsed.subject);
        assert_eq!(parsed.subject, parsed.issuer);
        assert_eq!(parsed.not_after.to_string(), "2040-01-02 00:00:00");
        assert_eq!(parsed.public_key_sha256, sha256_hex(&key.subject_public_key_info()));
    }

    #[test]
    fn malformed_certificates_are_refused_with_a_code() {
        let key = KeyPair::generate().unwrap();
        let good = certificate(&key, &["a.example.test"]);
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "invalid_pem"),
            ("hello".into(), "invalid_pem"),
            ("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".into(), "invalid_pem"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(), "invalid_certificate"),
            (good.replace("CERTIFICATE", "PRIVATE KEY"), "invalid_pem"),
            (format!("{good}{good}"), "too_long"),
            ("x".repeat(MAX_PEM_BYTES + 1), "too_long"),
        ];
        for (text, code) in cases {
            assert_eq!(parse_certificate(&text).err().map(|e| e.code), Some(code), "{text:.60}");
        }
    }

    #[test]
    fn keys_of_each_supported_kind_match_their_certificate_only() {
        for alg in [&PKCS_ECDSA_P256_SHA256, &PKCS_ECDSA_P384_SHA384, &PKCS_ED25519] {
            let key = KeyPair::generate_for(alg).unwrap();
            let other = KeyPair::generate_for(alg).unwrap();
            let parsed = parse_certificate(&certificate(&key, &["a.example.test"])).unwrap();
            assert!(key_matches(&parsed, &parse_private_key(&key.serialize_pem()).unwrap()));
            assert!(!key_matches(&parsed, &parse_private_key(&other.serialize_pem()).unwrap()));
        }
        // ring cannot generate RSA keys; an RSA key is refused for generation only.
        assert!(KeyPair::generate_for(&PKCS_RSA_SHA256).is_err());
    }

    #[test]
    fn a_p256_key_never_matches_a_p384_certificate() {
        let p384 = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
        let p256 = parse_private_key(&KeyPair::generate().unwrap().serialize_pem()).unwrap();
        assert!(!key_matches(&parse_certificate(&certificate(&p384, &["a.example.test"])).unwrap(), &p256));
    }

    #[test]
    fn sec1_keys_are_rewrapped() {
        // The PKCS#8 of a P-256 key holds its SEC1 ECPrivateKey as the last OCTET STRING.
        let key = KeyPair::generate().unwrap();
        let pkcs8 = key.serialize_der();
        let (_, info) = x509_parser::der_parser::parse_der(&pkcs8).unwrap();
        let items = info.as_sequence().unwrap();
        let sec1 = items[2].as_slice().unwrap();
        let parsed = parse_private_key(&pem_of("EC PRIVATE KEY", sec1)).unwrap();
        let certificate = parse_certificate(&certificate(&key, &["a.example.test"])).unwrap();
        assert!(key_matches(&certificate, &parsed));
    }

    #[test]
    fn bad_keys_are_refused_with_a_code() {
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "invalid_pem"),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n".into(),
                "unsupported_key",
            ),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(), "unsupported_key"),
            ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".into(), "unsupported_key"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(), "invalid_pem"),
        ];
        for (text, code) in cases {
            assert_eq!(parse_private_key(&text).err().map(|e| e.code), Some(code), "{text}");
        }
    }

    #[test]
    fn a_chain_starts_with_the_issuer() {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name.push(DnType::CommonName, "Test CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, &ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf =
            CertificateParams::new(vec!["a.example.test".to_owned()]).unwrap().signed_by(&leaf_key, &issuer).unwrap();
        let leaf = parse_certificate(&leaf.pem()).unwrap();
        assert_eq!(parse_chain(&ca.pem(), &leaf).unwrap().len(), 1);
        let stranger = certificate(&KeyPair::generate().unwrap(), &["b.example.test"]);
        assert_eq!(parse_chain(&stranger, &leaf).err().map(|e| e.code), Some("chain_mismatch"));
        assert_eq!(parse_chain(&ca.pem().repeat(11), &leaf).err().map(|e| e.code), Some("too_long"));
    }

    #[test]
    fn certificate_names_follow_rfc_1123_and_6125() {
        for valid in ["example.test", "WWW.Example.Test.", "*.example.test", "xn--bcher-kva.example", "a-b.c1.test"] {
            assert!(CertificateName::parse(valid).is_ok(), "{valid}");
        }
        assert_eq!(CertificateName::parse("WWW.Example.Test.").unwrap().as_str(), "www.example.test");
        for invalid in [
            "",
            "localhost",
            "*.test",
            "a.*.example.test",
            "*example.test",
            "-a.example.test",
            "a-.example.test",
            "a..example.test",
            "a_b.example.test",
            "bücher.example",
            "1.2.3.4",
            "**.example.test",
            &format!("{}.test", "a".repeat(64)),
            &format!("{}test", "a.".repeat(130)),
        ] {
            assert!(CertificateName::parse(invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn a_csr_names_the_common_name_and_the_sans_and_its_key_is_kept() {
        let cn = CertificateName::parse("www.example.test").unwrap();
        let sans = vec![CertificateName::parse("*.example.test").unwrap(), cn.clone()];
        let generated = generate_csr(&cn, &sans).unwrap();
        let block = blocks(&generated.csr_pem, "CERTIFICATE REQUEST", 1).unwrap();
        let (_, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(&block[0]).unwrap();
        assert_eq!(sha256_hex(csr.certification_request_info.subject_pki.raw), generated.key.public_key_sha256());
        assert!(csr.certification_request_info.subject.to_string().contains("CN=www.example.test"));
        let names: Vec<String> = csr
            .requested_extensions()
            .into_iter()
            .flatten()
            .filter_map(|ext| match ext {
                x509_parser::extensions::ParsedExtension::SubjectAlternativeName(san) => Some(san),
                _ => None,
            })
            .flat_map(|san| san.general_names.iter())
            .filter_map(|name| match name {
                GeneralName::DNSName(name) => Some(name.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(names, vec!["www.example.test", "*.example.test"]);
        assert!(generated.key.pkcs8_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{generated:?}").contains("BEGIN PRIVATE KEY"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_certificate(&text);
            let _ = parse_private_key(&text);
            let _ = CertificateName::parse(&text);
        }

        #[test]
        fn arbitrary_base64_in_a_pem_block_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let text = pem_of("CERTIFICATE", &bytes);
            prop_assert!(parse_certificate(&text).is_err());
            let _ = parse_private_key(&pem_of("PRIVATE KEY", &bytes));
            let _ = parse_private_key(&pem_of("EC PRIVATE KEY", &bytes));
        }
    }
}
