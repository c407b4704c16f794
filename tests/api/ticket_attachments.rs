//! Ticket attachments: the raw file as the body, typed by its content, at most 5 MiB,
//! stored whole or not at all, served only as a download, seen by who sees its message.

use crate::support::*;
use crate::tickets::{opened, reply};

const MIB: usize = 1024 * 1024;

/// A PNG signature and header chunk followed by `size` bytes in all: what `infer` and
/// browsers recognise as PNG, with varied bytes to compare.
fn png(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let mut state: u32 = 7;
    while bytes.len() < size {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push((state >> 16) as u8);
    }
    bytes.truncate(size);
    bytes
}

/// The start of an ELF executable.
fn program() -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0".to_vec();
    bytes.resize(4096, 0x90);
    bytes
}

fn upload(
    server: &Server,
    by: &Account,
    ticket: &str,
    content_type: Option<&'static str>,
    bytes: Vec<u8>,
    query: &str,
) -> Response {
    let path = format!("/v1/tickets/{ticket}/attachments{query}");
    server.send("POST", &path, Some(&by.token), Body::Raw(content_type, bytes), &[])
}

fn stored(server: &Server) -> i64 {
    server.count("SELECT COUNT(*) AS n FROM ticket_attachments")
}

/// Downloads raw bytes (the harness reads bodies as text).
fn download(server: &Server, by: &Account, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response =
        agent.get(&server.url(path)).header("authorization", &format!("Bearer {}", by.token)).call().expect("GET");
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    let status = response.status().as_u16();
    let bytes = response.body_mut().with_config().limit(10 * MIB as u64).read_to_vec().expect("body");
    (status, headers, bytes)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

both_backends!(a_png_round_trips_byte_for_byte_as_a_download, |server| {
    let tree = Tree::build(&server);
    let id = opened(&server, &tree.customer_a1, json!({"subject": "Screenshot", "body": "See below."}))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = png(300 * 1024);
    let sent = server.send(
        "POST",
        &format!("/v1/tickets/{id}/attachments"),
        Some(&tree.customer_a1.token),
        Body::Raw(Some("image/png"), file.clone()),
        &[("content-disposition", "attachment; filename*=UTF-8''Bildschirm%20%C3%BCber.png")],
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(
        (sent.body["filename"].clone(), sent.body["content_type"].clone(), sent.body["size"].clone()),
        (json!("Bildschirm über.png"), json!("image/png"), json!(file.len()))
    );
    assert_eq!(sent.body["message_id"], Value::Null);
    let attachment = sent.str("id");
    let path = format!("/v1/tickets/{id}/attachments/{attachment}");
    assert_eq!(sent.header("location"), Some(path.as_str()));

    // Only its uploader sees it until a message carries it.
    assert_eq!(download(&server, &tree.reseller_a, &path).0, 404);
    let message = reply(&server, &tree.customer_a1, &id, json!({"body": "Here.", "attachment_ids": [attachment]}));
    assert_eq!(message.status, 201, "{}", message.body);
    assert_eq!(message.body["attachments"][0]["id"], attachment.as_str());
    for who in [&tree.customer_a1, &tree.reseller_a, &tree.operator] {
        let (status, headers, bytes) = download(&server, who, &path);
        assert_eq!(status, 200, "{}", who.login);
        assert!(bytes == file, "byte for byte");
        assert_eq!(header(&headers, "content-type"), Some("image/png"));
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
        let disposition = header(&headers, "content-disposition").unwrap_or_default();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        assert!(disposition.contains("filename*=UTF-8''Bildschirm%20%C3%BCber.png"), "{disposition}");
    }
    assert_eq!(download(&server, &tree.reseller_b, &path).0, 404);
    let listed = server.get(&format!("/v1/tickets/{id}/messages"), Some(&tree.reseller_a.token));
    assert_eq!(listed.body["data"][0]["attachments"][0]["filename"], "Bildschirm über.png");

    // A file goes on one message only.
    let again = reply(&server, &tree.customer_a1, &id, json!({"body": "Again.", "attachment_ids": [attachment]}));
    assert_eq!((again.status, again.code()), (409, "attachment_in_use"));
    let theirs = reply(&server, &tree.reseller_a, &id, json!({"body": "Mine?", "attachment_ids": [attachment]}));
    assert_eq!((theirs.status, theirs.code()), (404, "not_found"), "another account's upload");

    // A text file named by the query parameter, refused names, and an internal note's file.
    let text = upload(
        &server,
        &tree.reseller_a,
        &id,
        Some("text/plain; charset=utf-8"),
        "Log:\nok\n".into(),
        "?filename=log.txt",
    );
    assert_eq!((text.status, text.body["filename"].clone()), (201, json!("log.txt")), "{}", text.body);
    let note = reply(
        &server,
        &tree.reseller_a,
        &id,
        json!({"body": "log", "internal": true, "attachment_ids": [text.str("id")]}),
    );
    assert_eq!(note.status, 201, "{}", note.body);
    let note_file = format!("/v1/tickets/{id}/attachments/{}", text.str("id"));
    assert_eq!(download(&server, &tree.operator, &note_file).0, 200);
    assert_eq!(download(&server, &tree.customer_a1, &note_file).0, 404, "never the customer's side");
    let (_, headers, _) = download(&server, &tree.reseller_a, &note_file);
    assert_eq!(header(&headers, "content-type"), Some("text/plain; charset=utf-8"));
    let path_name = upload(&server, &tree.customer_a1, &id, Some("image/png"), png(100), "?filename=../../etc/passwd");
    assert_eq!((path_name.status, path_name.pointers()), (422, vec!["/query/filename".to_owned()]));
    let unnamed = upload(&server, &tree.customer_a1, &id, Some("image/png"), png(100), "");
    assert_eq!(unnamed.body["filename"], "attachment.png");
});

both_backends!(files_are_typed_by_content_bounded_and_leave_nothing_when_refused, |server| {
    let tree = Tree::build(&server);
    let id =
        opened(&server, &tree.customer_a1, json!({"subject": "Files", "body": "x"}))["id"].as_str().unwrap().to_owned();
    let who = &tree.customer_a1;

    let renamed = upload(&server, who, &id, Some("image/png"), program(), "?filename=cat.png");
    assert_eq!((renamed.status, renamed.code()), (415, "unsupported_media_type"), "{}", renamed.body);
    for (content_type, bytes) in [
        (Some("application/x-executable"), program()),
        (Some("text/plain"), program()),
        (Some("text/html"), b"<script>alert(1)</script>".to_vec()),
        (Some("image/svg+xml"), b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec()),
        (Some("application/pdf"), png(1000)),
        (None, png(1000)),
    ] {
        let refused = upload(&server, who, &id, content_type, bytes, "");
        assert_eq!((refused.status, refused.code()), (415, "unsupported_media_type"), "{content_type:?}");
    }
    let empty = upload(&server, who, &id, Some("text/plain"), Vec::new(), "");
    assert_eq!(empty.status, 422, "{}", empty.body);
    assert_eq!(stored(&server), 0, "nothing stored for a refused file");

    let too_big = upload(&server, who, &id, Some("image/png"), png(5 * MIB + 1), "");
    assert_eq!((too_big.status, too_big.code()), (413, "payload_too_large"), "{}", too_big.body);
    assert_eq!(stored(&server), 0, "nothing left behind by a file over the limit");
    let largest = upload(&server, who, &id, Some("image/png"), png(5 * MIB), "");
    assert_eq!((largest.status, largest.body["size"].clone()), (201, json!(5 * MIB)), "{}", largest.body);
    assert_eq!(stored(&server), 1);
    let pdf =
        upload(&server, who, &id, Some("application/pdf"), b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec(), "");
    assert_eq!(pdf.status, 201, "{}", pdf.body);

    // Role, scope and tenancy come before the body is looked at.
    assert_eq!(upload(&server, &tree.reseller_b, &id, Some("image/png"), png(100), "").status, 404);
    let key = server.post("/v1/me/api-keys", Some(&who.token), json!({"name": "ro", "scopes": ["support:read"]}));
    let reader = Account { token: key.str("key"), ..who.clone() };
    let scoped = upload(&server, &reader, &id, Some("image/png"), png(100), "");
    assert_eq!((scoped.status, scoped.code()), (403, "insufficient_scope"));
    assert_eq!(stored(&server), 2);
});

both_backends!(a_support_grantee_attaches_files_the_seller_downloads, |server| {
    let tree = Tree::build(&server);
    let plan = server.web_plan(&tree.reseller_a, "Web");
    let service = server.sell(&tree.reseller_a, &tree.customer_a1, &plan);
    for (grantee, permissions) in [(&tree.customer_b1, json!(["view"])), (&tree.customer_b2, json!(["support"]))] {
        let given = server.post(
            "/v1/authorizations",
            Some(&tree.customer_a1.token),
            json!({"grantee": grantee.login, "permissions": permissions, "service_ids": [service]}),
        );
        assert_eq!(given.status, 201, "{}", given.body);
        let accept = format!("/v1/authorizations/{}/accept", given.str("id"));
        assert_eq!(server.post(&accept, Some(&grantee.token), json!({})).status, 200);
    }
    let helper = &tree.customer_b2;
    let id =
        opened(&server, helper, json!({"subject": "Errors", "body": "See the screenshot.", "service_id": service}))
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();

    let file = png(2048);
    let sent = upload(&server, helper, &id, Some("image/png"), file.clone(), "?filename=error.png");
    assert_eq!(sent.status, 201, "{}", sent.body);
    let message = reply(&server, helper, &id, json!({"body": "Here.", "attachment_ids": [sent.str("id")]}));
    assert_eq!(message.status, 201, "{}", message.body);
    let path = format!("/v1/tickets/{id}/attachments/{}", sent.str("id"));
    for who in [&tree.reseller_a, &tree.customer_a1, helper] {
        let (status, _, bytes) = download(&server, who, &path);
        assert_eq!(status, 200, "{}", who.login);
        assert!(bytes == file, "byte for byte for {}", who.login);
    }
    // A grant without `support` reaches the ticket and is refused.
    let viewer = upload(&server, &tree.customer_b1, &id, Some("image/png"), png(100), "");
    assert_eq!((viewer.status, viewer.code()), (403, "insufficient_grant"), "{}", viewer.body);
    assert_eq!(download(&server, &tree.customer_b1, &path).0, 403);
});

// A file sent without a length (chunked, as a streaming client does) is read up to the
// limit and no further: `413`, and nothing stored. (A declared `Content-Length` over
// the limit is refused before a byte is read; this is the other way in.)
both_backends!(a_chunked_upload_over_the_limit_is_refused_and_leaves_nothing, |server| {
    use std::io::{Read as _, Write as _};
    let tree = Tree::build(&server);
    let who = &tree.customer_a1;
    let id = opened(&server, who, json!({"subject": "Files", "body": "x"}))["id"].as_str().unwrap().to_owned();
    let address = server.url("").trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /v1/tickets/{id}/attachments HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n",
        who.token
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer and stop reading before the last chunk: a failed write is
    // expected then, the answer is read all the same.
    for chunk in png(5 * MIB + 1).chunks(64 * 1024) {
        let sent = stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).and_then(|()| {
            stream.write_all(chunk)?;
            stream.write_all(b"\r\n")
        });
        if sent.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    assert_eq!(stored(&server), 0, "nothing left behind by a file over the limit");
});
