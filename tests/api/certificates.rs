//! Certificates of a hosting service: uploads read with a real X.509 parser and matched
//! to their key, CSRs whose key stays on the server (sealed), and who may do what.
//! Every certificate here is made by rcgen in the test.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PublicKeyData, SignatureAlgorithm,
    PKCS_ECDSA_P256_SHA256,
};
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509CertificationRequest};

use crate::support::*;

struct Fixture {
    reseller: Account,
    owner: Account,
    sibling: Account,
    other_reseller: Account,
    service: String,
}

impl Fixture {
    fn build(server: &Server) -> Self {
        let operator = server.operator("operator");
        let reseller = server.create(&operator, "reseller-a", "reseller");
        let other_reseller = server.create(&operator, "reseller-b", "reseller");
        let owner = server.create(&reseller, "owner", "customer");
        let sibling = server.create(&reseller, "sibling", "customer");
        let plan = server.web_plan(&reseller, "Web");
        let service = server.sell(&reseller, &owner, &plan);
        Self { reseller, owner, sibling, other_reseller, service }
    }

    fn path(&self) -> String {
        format!("/v1/services/{}/certificates", self.service)
    }
}

/// A test CA: its certificate (PEM) and what signs with it.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn new_ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { pem, issuer: Issuer::new(params, key) }
}

fn leaf_params(names: &[&str]) -> CertificateParams {
    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    params
}

/// A leaf for `names` signed by `ca` with `key`.
fn leaf(ca: &Ca, key: &KeyPair, names: &[&str]) -> String {
    leaf_params(names).signed_by(key, &ca.issuer).unwrap().pem()
}

fn upload(server: &Server, fixture: &Fixture, token: &str, body: Value) -> Response {
    server.post(&fixture.path(), Some(token), body)
}

/// No column of any certificate row and no audit event holds a clear private key.
fn assert_no_clear_key(server: &Server) {
    let clear = server.count(
        "SELECT COUNT(*) AS n FROM certificates WHERE private_key_sealed LIKE '%PRIVATE KEY%' \
         OR COALESCE(certificate_pem, '') LIKE '%PRIVATE KEY%' OR COALESCE(chain_pem, '') LIKE '%PRIVATE KEY%' \
         OR COALESCE(csr_pem, '') LIKE '%PRIVATE KEY%' OR private_key_sealed NOT LIKE 'v1.%'",
    );
    assert_eq!(clear, 0);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE details LIKE '%PRIVATE KEY%'"), 0);
}

both_backends!(an_upload_is_read_matched_and_checked, |server| {
    let fixture = Fixture::build(&server);
    let token = fixture.owner.token.clone();
    let ca = new_ca("Test CA");
    let key = KeyPair::generate().unwrap();
    let certificate = leaf(&ca, &key, &["www.example.test", "example.test"]);

    // Matching key and the CA as chain.
    let created = upload(
        &server,
        &fixture,
        &token,
        json!({"certificate_pem": certificate, "private_key_pem": key.serialize_pem(), "chain_pem": ca.pem}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.str("id");
    assert_eq!(created.header("location"), Some(format!("{}/{id}", fixture.path()).as_str()));
    assert_eq!(created.body["common_name"], "www.example.test");
    assert_eq!(created.body["sans"], json!(["www.example.test", "example.test"]));
    assert_eq!(created.body["subject"], "CN=www.example.test");
    assert_eq!(created.body["issuer"], "CN=Test CA");
    assert_eq!(created.body["not_after"], "2099-01-01T00:00:00Z");
    assert!(created.body["not_before"].is_string());
    assert_eq!(created.body["has_chain"], true);
    assert_eq!(created.body["status"], "issued");
    assert!(!created.text.contains("PRIVATE KEY"));

    let read = server.get(&format!("{}/{id}", fixture.path()), Some(&token));
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(read.header("etag").is_some());
    assert!(!read.text.contains("PRIVATE KEY"));
    let list = server.get(&fixture.path(), Some(&token));
    assert_eq!(list.ids(), vec![id.clone()]);

    // Without a chain, too.
    let key2 = KeyPair::generate().unwrap();
    let plain = upload(
        &server,
        &fixture,
        &token,
        json!({"certificate_pem": leaf(&ca, &key2, &["shop.example.test"]), "private_key_pem": key2.serialize_pem()}),
    );
    assert_eq!(plain.status, 201, "{}", plain.body);
    assert_eq!(plain.body["has_chain"], false);

    // Another key.
    let other = KeyPair::generate().unwrap();
    let mismatch = upload(
        &server,
        &fixture,
        &token,
        json!({"certificate_pem": certificate, "private_key_pem": other.serialize_pem()}),
    );
    assert_eq!(mismatch.status, 422, "{}", mismatch.body);
    assert_eq!(mismatch.code(), "certificate_mismatch");
    assert_eq!(mismatch.pointers(), vec!["/private_key_pem"]);

    // Expired.
    let mut params = leaf_params(&["old.example.test"]);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let expired = params.signed_by(&key, &ca.issuer).unwrap().pem();
    let refused =
        upload(&server, &fixture, &token, json!({"certificate_pem": expired, "private_key_pem": key.serialize_pem()}));
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.code(), "certificate_expired");
    assert_eq!(refused.pointers(), vec!["/certificate_pem"]);

    // Malformed PEM, a key that is no key, a chain of another CA, an unknown field.
    let malformed = upload(
        &server,
        &fixture,
        &token,
        json!({"certificate_pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "private_key_pem": "nope"}),
    );
    assert_eq!(malformed.status, 422, "{}", malformed.body);
    assert_eq!(malformed.code(), "validation_failed");
    assert_eq!(malformed.pointers(), vec!["/certificate_pem", "/private_key_pem"]);
    let stranger = new_ca("Other CA");
    let chain = upload(
        &server,
        &fixture,
        &token,
        json!({"certificate_pem": certificate, "private_key_pem": key.serialize_pem(), "chain_pem": stranger.pem}),
    );
    assert_eq!(chain.status, 422, "{}", chain.body);
    assert_eq!(chain.pointers(), vec!["/chain_pem"]);
    let unknown = upload(&server, &fixture, &token, json!({"certificate_pem": certificate, "key": "x"}));
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(unknown.code(), "unknown_field");

    // A certificate whose key was never made here, without the key.
    let required = upload(&server, &fixture, &token, json!({"certificate_pem": certificate}));
    assert_eq!(required.status, 422, "{}", required.body);
    assert_eq!(required.code(), "private_key_required");

    // Idempotency: the retry gets the stored answer and makes no second row.
    let body = json!({"certificate_pem": certificate, "private_key_pem": key.serialize_pem()});
    let headers = [("idempotency-key", "upload-1")];
    let first = server.send("POST", &fixture.path(), Some(&token), Body::Json(body.clone()), &headers);
    let again = server.send("POST", &fixture.path(), Some(&token), Body::Json(body), &headers);
    assert_eq!((first.status, again.status), (201, 201), "{}", again.body);
    assert_eq!(first.str("id"), again.str("id"));

    assert_eq!(server.count("SELECT COUNT(*) AS n FROM certificates"), 3);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'certificate.upload'"), 3);
    assert_no_clear_key(&server);

    // Delete: a stale If-Match changes nothing, then it goes.
    let one = format!("{}/{id}", fixture.path());
    let stale = server.send("DELETE", &one, Some(&token), Body::None, &[("if-match", "\"v99\"")]);
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert_eq!(server.delete(&one, Some(&token)).status, 204);
    assert_eq!(server.get(&one, Some(&token)).status, 404);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'certificate.delete'"), 1);
});

/// The public key of a CSR, as rcgen signs it.
struct CsrKey(Vec<u8>);

impl PublicKeyData for CsrKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

/// Reads the CSR like a CA would and signs what it asks for.
fn sign_csr(ca: &Ca, csr_pem: &str) -> (String, Vec<String>) {
    let (_, pem) = x509_parser::pem::parse_x509_pem(csr_pem.as_bytes()).unwrap();
    assert_eq!(pem.label, "CERTIFICATE REQUEST");
    let (_, csr) = X509CertificationRequest::from_der(&pem.contents).unwrap();
    let info = &csr.certification_request_info;
    let common_name = info.subject.iter_common_name().next().unwrap().as_str().unwrap().to_owned();
    let names: Vec<String> = csr
        .requested_extensions()
        .into_iter()
        .flatten()
        .filter_map(|ext| match ext {
            ParsedExtension::SubjectAlternativeName(san) => Some(san),
            _ => None,
        })
        .flat_map(|san| san.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::DNSName(name) => Some(name.to_string()),
            _ => None,
        })
        .collect();
    let mut params = CertificateParams::new(names.clone()).unwrap();
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    let key = CsrKey(info.subject_pki.subject_public_key.data.to_vec());
    (params.signed_by(&key, &ca.issuer).unwrap().pem(), names)
}

both_backends!(a_csr_round_trip_keeps_the_key_on_the_server, |server| {
    let fixture = Fixture::build(&server);
    let token = fixture.owner.token.clone();
    let csr_path = format!("{}/csr", fixture.path());

    let bad = server.post(&csr_path, Some(&token), json!({"common_name": "www.example.test", "sans": ["ok.example.test", "bad_name.example.test", "*.*.example.test"]}));
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.pointers(), vec!["/sans/1", "/sans/2"]);
    let bad = server.post(&csr_path, Some(&token), json!({"common_name": "localhost"}));
    assert_eq!(bad.pointers(), vec!["/common_name"]);

    let created =
        server.post(&csr_path, Some(&token), json!({"common_name": "www.example.test", "sans": ["*.example.test"]}));
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.str("id");
    let csr_pem = created.str("csr_pem");
    assert_eq!(created.body["status"], "pending");
    assert!(!created.text.contains("PRIVATE KEY"));
    assert_no_clear_key(&server);

    let ca = new_ca("Test CA");
    let (signed, names) = sign_csr(&ca, &csr_pem);
    assert_eq!(names, vec!["www.example.test", "*.example.test"]);

    // Signed by the CA, uploaded without a key: the CSR's row becomes the certificate.
    let uploaded = upload(&server, &fixture, &token, json!({"certificate_pem": signed, "chain_pem": ca.pem}));
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    assert_eq!(uploaded.str("id"), id);
    assert_eq!(uploaded.body["status"], "issued");
    assert_eq!(uploaded.body["sans"], json!(["www.example.test", "*.example.test"]));
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM certificates"), 1);
    assert_no_clear_key(&server);

    // A CSR made for another service does not lend its key.
    let second_service = server.sell(&fixture.reseller, &fixture.owner, &server.web_plan(&fixture.reseller, "Web 2"));
    let other_csr = server.post(
        &format!("/v1/services/{second_service}/certificates/csr"),
        Some(&token),
        json!({"common_name": "other.example.test"}),
    );
    assert_eq!(other_csr.status, 201, "{}", other_csr.body);
    let (other_signed, _) = sign_csr(&ca, &other_csr.str("csr_pem"));
    let refused = upload(&server, &fixture, &token, json!({"certificate_pem": other_signed}));
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.code(), "private_key_required");
    assert_eq!(refused.pointers(), vec!["/private_key_pem"]);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'certificate.csr'"), 2);
});

both_backends!(parallel_uploads_for_one_csr_make_one_certificate, |server| {
    let fixture = Fixture::build(&server);
    let created = server.post(
        &format!("{}/csr", fixture.path()),
        Some(&fixture.owner.token),
        json!({"common_name": "www.example.test"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let (signed, _) = sign_csr(&new_ca("Test CA"), &created.str("csr_pem"));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (server, fixture, signed) = (&server, &fixture, &signed);
                scope.spawn(move || {
                    upload(server, fixture, &fixture.owner.token, json!({"certificate_pem": signed})).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 3, "{statuses:?}");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM certificates WHERE certificate_pem IS NOT NULL"), 1);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'certificate.upload'"), 1);
});

both_backends!(only_those_allowed_reach_certificates, |server| {
    let fixture = Fixture::build(&server);
    let ca = new_ca("Test CA");
    let key = KeyPair::generate().unwrap();
    let body =
        json!({"certificate_pem": leaf(&ca, &key, &["www.example.test"]), "private_key_pem": key.serialize_pem()});
    let created = upload(&server, &fixture, &fixture.owner.token, body.clone());
    assert_eq!(created.status, 201, "{}", created.body);
    let one = format!("{}/{}", fixture.path(), created.str("id"));
    let csr_path = format!("{}/csr", fixture.path());

    // The seller reads its customer's certificates.
    assert_eq!(server.get(&one, Some(&fixture.reseller.token)).status, 200);

    // A sibling customer and another reseller: the service does not exist for them.
    for outsider in [&fixture.sibling, &fixture.other_reseller] {
        let token = Some(outsider.token.as_str());
        assert_eq!(server.get(&fixture.path(), token).code(), "not_found");
        assert_eq!(server.get(&one, token).code(), "not_found");
        assert_eq!(server.post(&fixture.path(), token, body.clone()).code(), "not_found");
        assert_eq!(server.post(&csr_path, token, json!({"common_name": "a.example.test"})).code(), "not_found");
        assert_eq!(server.delete(&one, token).code(), "not_found");
    }
    // A malformed certificate id is 404 like a missing one.
    let malformed = format!("{}/not-an-id", fixture.path());
    assert_eq!(server.get(&malformed, Some(&fixture.owner.token)).status, 404);

    // An API key with hosting:read only.
    let key_response =
        server.post("/v1/me/api-keys", Some(&fixture.owner.token), json!({"name": "ci", "scopes": ["hosting:read"]}));
    assert_eq!(key_response.status, 201, "{}", key_response.body);
    let api_key = key_response.str("key");
    assert_eq!(server.get(&one, Some(&api_key)).status, 200);
    assert_eq!(upload(&server, &fixture, &api_key, body.clone()).code(), "insufficient_scope");
    assert_eq!(server.delete(&one, Some(&api_key)).code(), "insufficient_scope");

    // A grantee with `view` reads but does not write.
    let grantee = server.create(&fixture.other_reseller, "grantee", "customer");
    let grant = server.post(
        "/v1/authorizations",
        Some(&fixture.owner.token),
        json!({"grantee": "grantee", "permissions": ["view"], "service_ids": [fixture.service]}),
    );
    assert_eq!(grant.status, 201, "{}", grant.body);
    let accepted =
        server.post(&format!("/v1/authorizations/{}/accept", grant.str("id")), Some(&grantee.token), json!({}));
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(server.get(&fixture.path(), Some(&grantee.token)).status, 200);
    assert_eq!(server.get(&one, Some(&grantee.token)).status, 200);
    assert_eq!(upload(&server, &fixture, &grantee.token, body.clone()).code(), "insufficient_grant");
    assert_eq!(
        server.post(&csr_path, Some(&grantee.token), json!({"common_name": "a.example.test"})).code(),
        "insufficient_grant"
    );
    assert_eq!(server.delete(&one, Some(&grantee.token)).code(), "insufficient_grant");

    // The seller restricts hosting.write.
    let restricted = server.put(
        &format!("/v1/customers/{}/restrictions", fixture.owner.id),
        Some(&fixture.reseller.token),
        json!({"disabled_actions": ["hosting.write"]}),
    );
    assert_eq!(restricted.status, 200, "{}", restricted.body);
    assert_eq!(upload(&server, &fixture, &fixture.owner.token, body).code(), "action_restricted");
    assert_eq!(server.delete(&one, Some(&fixture.owner.token)).code(), "action_restricted");
    assert_eq!(server.get(&one, Some(&fixture.owner.token)).status, 200);
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM certificates"), 1);
});

both_backends!(a_suspended_service_takes_no_certificates, |server| {
    let fixture = Fixture::build(&server);
    let suspended = server.post(
        &format!("/v1/services/{}/suspend", fixture.service),
        Some(&fixture.reseller.token),
        json!({"reason": "unpaid"}),
    );
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let csr = server.post(
        &format!("{}/csr", fixture.path()),
        Some(&fixture.owner.token),
        json!({"common_name": "www.example.test"}),
    );
    assert_eq!(csr.status, 409, "{}", csr.body);
    assert_eq!(csr.code(), "service_not_active");
    assert_eq!(server.count("SELECT COUNT(*) AS n FROM certificates"), 0);
});
