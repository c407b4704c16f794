//! The client's address: the peer's, or behind a trusted proxy the last address in
//! `X-Forwarded-For` that is not one of the proxies.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

pub fn client_ip(request: &HttpRequest, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = request.peer_addr().map(|addr| addr.ip())?;
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    Some(forwarded.into_iter().rev().find(|ip| !trusted(ip)).unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut request = TestRequest::default().peer_addr(format!("{peer}:5000").parse().unwrap());
        if let Some(value) = forwarded {
            request = request.insert_header(("x-forwarded-for", value));
        }
        request.to_http_request()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let direct = request("203.0.113.9", Some("1.2.3.4"));
        assert_eq!(client_ip(&direct, &proxies), Some("203.0.113.9".parse().unwrap()));
        let proxied = request("10.0.0.5", Some("1.2.3.4, 198.51.100.7, 10.0.0.4"));
        assert_eq!(client_ip(&proxied, &proxies), Some("198.51.100.7".parse().unwrap()));
        let no_header = request("10.0.0.5", None);
        assert_eq!(client_ip(&no_header, &proxies), Some("10.0.0.5".parse().unwrap()));
    }
}
