//! Wireshark captures: one pcapng file per case, rebuilt from the octets the raw peer and the
//! recording proxy kept. Every connection becomes a TCP stream with synthesised Ethernet, IPv4
//! and TCP headers (handshake, sequence and acknowledgement numbers that follow the octets,
//! FIN at the end) so Wireshark and tshark follow it; timestamps are the real times the octets
//! moved. `tools/wireshark/zmtp.lua` dissects the ZMTP inside.

use crate::peer::Direction;
use crate::report::RunReport;
use crate::verdict::{CaseResult, PeerRecord};
use etherparse::PacketBuilder;
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest TCP payload per synthesised segment (a kept chunk can be larger than an IP packet).
const SEGMENT: usize = 16 * 1024;
/// Initial sequence numbers of the raw peer's and the implementation's side.
const ISN_PEER: u32 = 1_000;
const ISN_IUT: u32 = 5_000_000;

/// Why a capture could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// The file or directory could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The pcapng writer failed.
    #[error("{}: pcapng: {source}", path.display())]
    Pcap {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: pcap_file::PcapError,
    },
    /// A packet could not be built.
    #[error("packet: {0}")]
    Packet(String),
}

/// One synthesised packet.
struct Packet {
    t_us: u64,
    data: Vec<u8>,
}

/// The two ends of a connection as the capture shows them.
#[derive(Clone, Copy)]
struct Ends {
    peer: (Ipv4Addr, u16),
    iut: (Ipv4Addr, u16),
}

fn ends(p: &PeerRecord, index: usize) -> Ends {
    let v4 = |a: &Option<String>| match a.as_deref().and_then(|s| s.parse::<SocketAddr>().ok()) {
        Some(SocketAddr::V4(a)) => Some((*a.ip(), a.port())),
        _ => None,
    };
    let port = 40_000 + index as u16;
    Ends {
        peer: v4(&p.local_addr).unwrap_or((Ipv4Addr::new(10, 0, 0, 1), port)),
        iut: v4(&p.peer_addr).unwrap_or((Ipv4Addr::new(10, 0, 0, 2), 5555)),
    }
}

/// Flags of a synthesised segment.
#[derive(Clone, Copy)]
enum Flags {
    Syn,
    SynAck,
    Ack,
    Psh,
    Fin,
}

/// Builds one Ethernet/IPv4/TCP packet from `from` to `to`.
fn segment(
    from: (Ipv4Addr, u16),
    to: (Ipv4Addr, u16),
    seq: u32,
    ack: u32,
    flags: Flags,
    payload: &[u8],
) -> Result<Vec<u8>, PcapError> {
    let mac = |a: Ipv4Addr, p: u16| {
        let o = a.octets();
        let p = p.to_be_bytes();
        [0x02, o[3], o[2], o[1], p[0], p[1]]
    };
    let b = PacketBuilder::ethernet2(mac(from.0, from.1), mac(to.0, to.1))
        .ipv4(from.0.octets(), to.0.octets(), 64)
        .tcp(from.1, to.1, seq, 65_535);
    let b = match flags {
        Flags::Syn => b.syn(),
        Flags::SynAck => b.syn().ack(ack),
        Flags::Ack => b.ack(ack),
        Flags::Psh => b.psh().ack(ack),
        Flags::Fin => b.fin().ack(ack),
    };
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload)
        .map_err(|e| PcapError::Packet(e.to_string()))?;
    Ok(out)
}

/// The packets of one connection: handshake, the kept octets in time order, FIN both ways.
fn connection(p: &PeerRecord, index: usize) -> Result<Vec<Packet>, PcapError> {
    let e = ends(p, index);
    let first = p.chunks.iter().map(|c| c.t_us).min().unwrap_or(0);
    let last = p.chunks.iter().map(|c| c.t_us).max().unwrap_or(0);
    let mut out = Vec::new();
    let mut push = |t_us: u64, from_peer: bool, seq: u32, ack: u32, flags, payload: &[u8]| {
        let (from, to) = if from_peer {
            (e.peer, e.iut)
        } else {
            (e.iut, e.peer)
        };
        out.push(Packet {
            t_us,
            data: segment(from, to, seq, ack, flags, payload)?,
        });
        Ok::<(), PcapError>(())
    };
    let t0 = first.saturating_sub(3);
    push(t0, true, ISN_PEER, 0, Flags::Syn, &[])?;
    push(t0 + 1, false, ISN_IUT, ISN_PEER + 1, Flags::SynAck, &[])?;
    push(t0 + 2, true, ISN_PEER + 1, ISN_IUT + 1, Flags::Ack, &[])?;
    // Octets acknowledged so far in each direction: what the other side has seen by then.
    let (mut sent_end, mut recv_end) = (0u64, 0u64);
    // Recorded order can differ from time order by a few microseconds between the reader and
    // the writer; acknowledgements must follow time.
    let mut chunks: Vec<&crate::peer::Chunk> = p.chunks.iter().collect();
    chunks.sort_by_key(|c| c.t_us);
    for c in chunks {
        for (i, part) in c.bytes.chunks(SEGMENT).enumerate() {
            let offset = c.offset + (i * SEGMENT) as u64;
            let end = offset + part.len() as u64;
            match c.dir {
                Direction::Out => {
                    let seq = ISN_PEER.wrapping_add(1).wrapping_add(offset as u32);
                    let ack = ISN_IUT.wrapping_add(1).wrapping_add(recv_end as u32);
                    push(c.t_us, true, seq, ack, Flags::Psh, part)?;
                    sent_end = sent_end.max(end);
                }
                Direction::In => {
                    let seq = ISN_IUT.wrapping_add(1).wrapping_add(offset as u32);
                    let ack = ISN_PEER.wrapping_add(1).wrapping_add(sent_end as u32);
                    push(c.t_us, false, seq, ack, Flags::Psh, part)?;
                    recv_end = recv_end.max(end);
                }
            }
        }
    }
    let peer_seq = ISN_PEER.wrapping_add(1).wrapping_add(sent_end as u32);
    let iut_seq = ISN_IUT.wrapping_add(1).wrapping_add(recv_end as u32);
    push(last + 1, true, peer_seq, iut_seq, Flags::Fin, &[])?;
    push(
        last + 2,
        false,
        iut_seq,
        peer_seq.wrapping_add(1),
        Flags::Fin,
        &[],
    )?;
    push(
        last + 3,
        true,
        peer_seq.wrapping_add(1),
        iut_seq.wrapping_add(1),
        Flags::Ack,
        &[],
    )?;
    Ok(out)
}

/// The capture of one case as pcapng octets, or `None` when the case kept no octets (a passing
/// case without `--keep-transcripts`, or a case without a raw peer). `fallback_start_unix_us`
/// dates the packets of records that lack their case's start time.
pub fn case_pcapng(
    result: &CaseResult,
    fallback_start_unix_us: u64,
) -> Result<Option<Vec<u8>>, PcapError> {
    let mut packets = Vec::new();
    for (i, p) in result
        .peers
        .iter()
        .filter(|p| !p.chunks.is_empty())
        .enumerate()
    {
        let start = match p.case_start_unix_us {
            0 => fallback_start_unix_us,
            t => t,
        };
        packets.extend(connection(p, i)?.into_iter().map(|mut k| {
            k.t_us += start;
            k
        }));
    }
    if packets.is_empty() {
        return Ok(None);
    }
    packets.sort_by_key(|k| k.t_us);
    let path = PathBuf::from(&result.id);
    let pcap = |source| PcapError::Pcap {
        path: path.clone(),
        source,
    };
    let mut w = PcapNgWriter::new(Vec::new()).map_err(pcap)?;
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0,
        options: vec![
            InterfaceDescriptionOption::IfName(Cow::Borrowed("zmtp-harness")),
            // pcap-file writes nanoseconds; say so (the default resolution is microseconds).
            InterfaceDescriptionOption::IfTsResol(9),
        ],
    })
    .map_err(pcap)?;
    for k in &packets {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_micros(k.t_us),
            original_len: k.data.len() as u32,
            data: Cow::Borrowed(&k.data),
            options: vec![],
        })
        .map_err(pcap)?;
    }
    Ok(Some(w.into_inner()))
}

/// The file name of a case's capture: its id with `/` as `__`.
pub fn file_name(id: &str) -> String {
    format!("{}.pcapng", id.replace('/', "__"))
}

/// Writes one pcapng per case that kept octets into `dir` (created); returns the files.
pub fn write_dir(dir: &Path, report: &RunReport) -> Result<Vec<PathBuf>, PcapError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PcapError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    for r in &report.results {
        if let Some(bytes) = case_pcapng(r, report.started_unix * 1_000_000)? {
            let path = dir.join(file_name(&r.id));
            std::fs::write(&path, bytes).map_err(io(&path))?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::Chunk;

    fn record() -> PeerRecord {
        PeerRecord {
            name: "p".into(),
            events: vec![],
            transcript: String::new(),
            decoded_in: String::new(),
            decoded_out: String::new(),
            chunks: vec![
                Chunk {
                    t_us: 10,
                    dir: Direction::Out,
                    offset: 0,
                    bytes: vec![0xff; 10],
                },
                Chunk {
                    t_us: 20,
                    dir: Direction::In,
                    offset: 0,
                    bytes: vec![0xff; 64],
                },
                Chunk {
                    t_us: 30,
                    dir: Direction::Out,
                    offset: 10,
                    bytes: vec![1; 54],
                },
            ],
            local_addr: Some("127.0.0.1:40001".into()),
            peer_addr: Some("127.0.0.1:5555".into()),
            case_start_unix_us: 1_700_000_000_000_000,
            events_dropped: 0,
            octets_not_shown: 0,
        }
    }

    #[test]
    fn sequence_numbers_follow_the_stream_offsets() {
        let packets = connection(&record(), 0).unwrap();
        // SYN, SYN-ACK, ACK, 3 data segments, FIN, FIN, ACK.
        assert_eq!(packets.len(), 9);
        let tcp = |k: &Packet| {
            let s = etherparse::SlicedPacket::from_ethernet(&k.data).unwrap();
            match s.transport {
                Some(etherparse::TransportSlice::Tcp(t)) => (
                    t.sequence_number(),
                    t.acknowledgment_number(),
                    t.payload().len(),
                ),
                _ => panic!("not TCP"),
            }
        };
        assert_eq!(tcp(&packets[3]), (ISN_PEER + 1, ISN_IUT + 1, 10));
        assert_eq!(tcp(&packets[4]), (ISN_IUT + 1, ISN_PEER + 11, 64));
        assert_eq!(tcp(&packets[5]), (ISN_PEER + 11, ISN_IUT + 65, 54));
        assert_eq!(tcp(&packets[6]).0, ISN_PEER + 65);
    }
}
