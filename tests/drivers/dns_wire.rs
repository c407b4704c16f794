//! Asking a DNS server over the wire (TCP, so large TXT sets are never truncated), and
//! reading zone text with hickory's RFC 1035 parser, into one comparable form:
//! `(owner, type, ttl, data)`.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;

pub type Served = BTreeSet<(String, String, u32, String)>;

/// The server's answer to `name`/`rtype`.
pub fn query(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(Name::from_ascii(name).expect("a name"), rtype));
    let bytes = message.to_vec().expect("encode");
    let mut stream = TcpStream::connect_timeout(&server, Duration::from_secs(5)).expect("connect to the DNS server");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let length = u16::try_from(bytes.len()).expect("short query").to_be_bytes();
    stream.write_all(&[&length[..], &bytes].concat()).expect("send");
    let mut length = [0u8; 2];
    stream.read_exact(&mut length).expect("answer length");
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut answer).expect("answer");
    Message::from_vec(&answer).expect("decode")
}

pub fn response_code(server: SocketAddr, name: &str, rtype: RecordType) -> ResponseCode {
    query(server, name, rtype).metadata.response_code
}

fn data_of(data: &RData) -> String {
    match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(name) => name.0.to_ascii().to_ascii_lowercase(),
        RData::NS(name) => name.0.to_ascii().to_ascii_lowercase(),
        RData::MX(mx) => format!("{} {}", mx.preference, mx.exchange.to_ascii().to_ascii_lowercase()),
        RData::TXT(txt) => {
            let strings: Vec<String> = txt.txt_data.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
            format!("{}|{}", strings.len(), strings.join("|"))
        }
        RData::SRV(srv) => {
            format!("{} {} {} {}", srv.priority, srv.weight, srv.port, srv.target.to_ascii().to_ascii_lowercase())
        }
        RData::CAA(caa) => format!("{} {} {}", caa.flags(), caa.tag, String::from_utf8_lossy(&caa.value)),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            soa.mname.to_ascii(),
            soa.rname.to_ascii(),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        other => panic!("unexpected record {other:?}"),
    }
}

fn tuple(record: &Record) -> (String, String, u32, String) {
    (record.name.to_ascii().to_ascii_lowercase(), record.record_type().to_string(), record.ttl, data_of(&record.data))
}

/// Every record of a zone text.
pub fn zone_text_records(zone: &str) -> Served {
    let (_, sets) = Parser::new(zone, None, None).parse().unwrap_or_else(|e| panic!("{e}\n{zone}"));
    sets.values().flat_map(|set| set.records_without_rrsigs().map(tuple).collect::<Vec<_>>()).collect()
}

/// What the server answers for every (owner, type) of `expected`: the answers, or for a
/// delegation (NS below the apex) the referral's NS records.
pub fn served_records(server: SocketAddr, apex: &str, expected: &Served) -> Served {
    let keys: BTreeSet<(String, String)> =
        expected.iter().map(|(name, kind, _, _)| (name.clone(), kind.clone())).collect();
    let mut served = Served::new();
    for (name, kind) in keys {
        let rtype: RecordType = kind.parse().expect("a record type");
        let message = query(server, &name, rtype);
        let delegated = rtype == RecordType::NS && name != apex;
        let section = if delegated { &message.authorities } else { &message.answers };
        served.extend(section.iter().filter(|record| record.record_type() == rtype).map(tuple));
    }
    served
}
