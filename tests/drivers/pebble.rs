//! pebble, the ACME test CA, started per test on free ports from
//! tests/servers/pebble/pebble-config.json.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use hostadmin::drivers::http_client::{client, pem_certificates};

use crate::servers::{configs, free_port, installed, skip, spawn, wait_for, Process};

/// pebble, the ACME test CA, validating DNS-01 challenges against `dns`.
pub struct PebbleServer {
    _process: Process,
    pub directory_url: String,
    pub management_url: String,
    /// The root of pebble's own HTTPS certificate (what `acme_ca_file` holds).
    pub tls_root_pem: String,
    _dir: tempfile::TempDir,
}

impl PebbleServer {
    pub fn start(dns: SocketAddr) -> Option<Self> {
        let Some(binary) = installed("pebble", &["/usr/bin/pebble"]) else {
            return skip("pebble is not installed (Debian: pebble)");
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let (root_pem, cert_pem, key_pem) = pebble_tls();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        let certificate = write("cert.pem", &cert_pem);
        let private_key = write("key.pem", &key_pem);
        let template = std::fs::read_to_string(configs().join("pebble/pebble-config.json")).expect("pebble config");
        let mut config: serde_json::Value = serde_json::from_str(&template).expect("pebble config is JSON");
        let (port, management) = (free_port(), free_port());
        let pebble = &mut config["pebble"];
        pebble["listenAddress"] = format!("127.0.0.1:{port}").into();
        pebble["managementListenAddress"] = format!("127.0.0.1:{management}").into();
        pebble["certificate"] = certificate.display().to_string().into();
        pebble["privateKey"] = private_key.display().to_string().into();
        pebble["httpPort"] = free_port().into();
        pebble["tlsPort"] = free_port().into();
        let config_file = write("pebble-config.json", &config.to_string());
        let log = dir.path().join("pebble.log");
        let mut process = spawn(
            Command::new(binary)
                .arg("-config")
                .arg(&config_file)
                .arg("-dnsserver")
                .arg(dns.to_string())
                // No random sleeps before validation, no rejected nonces: a test of the
                // driver, not of the client's patience.
                .env("PEBBLE_VA_NOSLEEP", "1")
                .env("PEBBLE_WFE_NONCEREJECT", "0"),
            &log,
        );
        wait_for("pebble", &mut process, &log, || TcpStream::connect(("127.0.0.1", port)).is_ok());
        Some(Self {
            _process: process,
            directory_url: format!("https://127.0.0.1:{port}/dir"),
            management_url: format!("https://127.0.0.1:{management}"),
            tls_root_pem: root_pem,
            _dir: dir,
        })
    }
}

impl PebbleServer {
    /// pebble's issuing root, from its management interface.
    pub async fn issuing_root(&self) -> CertificateDer<'static> {
        let http = client(pem_certificates(self.tls_root_pem.as_bytes()).unwrap()).unwrap();
        let pem = http.get(format!("{}/roots/0", self.management_url)).send().await.unwrap().text().await.unwrap();
        pem_certificates(pem.as_bytes()).unwrap().remove(0)
    }
}

/// Verifies `chain_pem` (leaf first) for `name` against `root`, as a TLS client would.
pub fn verify(chain_pem: &str, root: &CertificateDer<'static>, name: &str) -> Result<(), rustls::Error> {
    let mut chain = pem_certificates(chain_pem.as_bytes()).unwrap();
    let leaf = chain.remove(0);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    #[allow(deprecated)] // ring, as the drivers use it
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
    let server = ServerName::try_from(name.to_owned()).unwrap();
    verifier.verify_server_cert(&leaf, &chain, &server, &[], UnixTime::now()).map(drop)
}

/// A CA and a certificate for pebble's HTTPS (127.0.0.1 and localhost), made fresh so
/// no private key is kept in the repository.
fn pebble_tls() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca.distinguished_name.push(rcgen::DnType::CommonName, "hostadmin test pebble TLS root");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    leaf.subject_alt_names.push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let cert = leaf.signed_by(&key, &issuer).expect("certificate");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}
