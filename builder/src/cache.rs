//! The persisted session state under the cache directory.
//!
//! Layout: `<cache_dir>/state.bin` (header, the head of the state and its
//! checksum, then the body and its own checksum), `<cache_dir>/artifact.json`
//! (by default), `<cache_dir>/lock` (held while a build reads and writes the
//! state, so two processes never interleave). The head is what a build that
//! changes nothing needs; the body is read only when something changed.
//! Any header mismatch discards the state (a cold build, one info line); a
//! truncated or corrupt file fails a checksum (the head's at load, the
//! body's when it is read) and is discarded with a warning — never a panic.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::analyze::ANALYZER_VERSION;
use crate::artifact::{write_atomic_with, Durability};
use crate::config::Config;
use crate::diagnostics::Diagnostic;
use crate::fingerprint::StatKey;
use crate::session::SessionState;

pub const STATE_FORMAT_VERSION: u32 = 4;
const MAGIC: &[u8; 8] = b"SODASTAT";
pub const STATE_FILE: &str = "state.bin";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheHeader {
    pub format_version: u32,
    pub analyzer_version: u32,
    pub builder_version: String,
    pub schema_hash: u64,
    pub options_hash: u64,
}

/// The part of the state a build reads first: enough to find out that
/// nothing changed, and to answer if so, without decoding the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateHead {
    /// Every file of the table with its stat, sorted by path.
    pub files: Vec<(String, StatKey)>,
    /// The include-glob matches, sorted.
    pub entries: Vec<String>,
    /// Paths whose appearance changes some file's imports: probed import
    /// candidates, and imports the table lacks (lost to a read error).
    pub awaited: Vec<String>,
    /// Source files with a chunk output under `<cache_dir>/chunks/`.
    pub chunk_files: Vec<String>,
    /// Source files with definitions, sorted: an edit to one of them will
    /// likely compile, so the schema is parsed beside the body's decode.
    pub defining: Vec<String>,
    pub racy_after_ns: u128,
    pub elements: Arc<BTreeMap<String, String>>,
    /// What the build that wrote this state reported.
    pub diagnostics: Vec<Diagnostic>,
}

pub struct PersistedState {
    pub header: CacheHeader,
    pub head: StateHead,
    /// The rest of the state, read, checksum-verified and decoded on first
    /// need: a build that changes nothing never touches it, and nothing it
    /// produces depends on unverified bytes.
    pub body: StateBody,
}

pub enum CacheLoad {
    Loaded(Box<PersistedState>),
    Missing,
    /// Why the state was not used (version, schema, config, corruption).
    Discarded(String),
}

pub fn state_path(config: &Config) -> PathBuf {
    config.cache_dir.join(STATE_FILE)
}

fn expected_header(config: &Config, schema_hash: u64) -> CacheHeader {
    CacheHeader {
        format_version: STATE_FORMAT_VERSION,
        analyzer_version: ANALYZER_VERSION,
        builder_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_hash,
        options_hash: config.options_hash(),
    }
}

/// Encodes as: magic, u32 header length, header, u64 head length, head, u64
/// xxh3 of everything so far; then u64 body length, body, u64 xxh3 of the
/// body. A build that changes nothing reads the first part only.
pub fn encode(
    header: &CacheHeader,
    head: &StateHead,
    state: &SessionState,
) -> Result<Vec<u8>, postcard::Error> {
    Ok(assemble(
        &postcard::to_allocvec(header)?,
        &postcard::to_allocvec(head)?,
        &postcard::to_allocvec(state)?,
    ))
}

fn assemble(header: &[u8], head: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + head.len() + body.len() + 48);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(head);
    let head_checksum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&head_checksum.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(body).to_le_bytes());
    out
}

/// Splits an encoded state into header, head and body, verifying both
/// checksums.
pub fn decode(bytes: &[u8]) -> Result<(CacheHeader, StateHead, &[u8]), String> {
    let mut reader: &[u8] = bytes;
    let front = read_front(&mut reader)?;
    let head = front.head()?;
    let (header, body_len) = (front.header, front.body_len);
    let body = checked_body(reader, body_len)?;
    Ok((header, head, body))
}

/// The body out of `bytes` (the body, then its xxh3), if the checksum holds.
fn checked_body(bytes: &[u8], len: usize) -> Result<&[u8], String> {
    let (Some(body), Some(checksum)) = (bytes.get(..len), bytes.get(len..len + 8)) else {
        return Err("truncated body".into());
    };
    if xxhash_rust::xxh3::xxh3_64(body).to_le_bytes() != checksum {
        return Err("checksum mismatch in the body (truncated or corrupt file)".into());
    }
    Ok(body)
}

/// The front of a state file: everything before the body, checksum-verified.
/// The head is decoded only after the header says it is of this format.
struct Front {
    header: CacheHeader,
    bytes: Vec<u8>,
    head: std::ops::Range<usize>,
    body_len: usize,
    /// Where the body starts.
    body_offset: u64,
}

impl Front {
    fn head(&self) -> Result<StateHead, String> {
        postcard::from_bytes(&self.bytes[self.head.clone()])
            .map_err(|e| format!("undecodable head: {e}"))
    }
}

/// Reads and verifies everything before the body.
fn read_front(file: &mut impl std::io::Read) -> Result<Front, String> {
    fn take(file: &mut impl std::io::Read, n: usize, front: &mut Vec<u8>) -> Result<(), String> {
        let start = front.len();
        front.resize(start + n, 0);
        file.read_exact(&mut front[start..])
            .map_err(|_| "not a state file (bad magic or truncated)".to_owned())
    }
    fn length(bytes: &[u8]) -> usize {
        let mut le = [0u8; 8];
        le[..bytes.len()].copy_from_slice(bytes);
        usize::try_from(u64::from_le_bytes(le)).unwrap_or(usize::MAX)
    }
    // Lengths are checked against a cap before anything is allocated: a
    // corrupt length must not ask for terabytes.
    const CAP: usize = 1 << 32;
    let mut front = Vec::with_capacity(64 * 1024);
    take(file, MAGIC.len() + 4, &mut front)?;
    if &front[..MAGIC.len()] != MAGIC {
        return Err("not a state file (bad magic or truncated)".into());
    }
    let header_len = length(&front[MAGIC.len()..]);
    if header_len > CAP {
        return Err("corrupt header length".into());
    }
    take(file, header_len + 8, &mut front)?;
    let head_len = length(&front[front.len() - 8..]);
    if head_len > CAP {
        return Err("corrupt head length".into());
    }
    take(file, head_len + 16, &mut front)?;
    let (covered, tail) = front.split_at(front.len() - 16);
    if xxhash_rust::xxh3::xxh3_64(covered).to_le_bytes() != tail[..8] {
        return Err("checksum mismatch (truncated or corrupt file)".into());
    }
    let body_len = length(&tail[8..]);
    let at = MAGIC.len() + 4;
    let header: CacheHeader = postcard::from_bytes(&front[at..at + header_len])
        .map_err(|e| format!("unreadable header: {e}"))?;
    let at = at + header_len + 8;
    Ok(Front {
        header,
        body_offset: front.len() as u64,
        head: at..at + head_len,
        bytes: front,
        body_len,
    })
}

/// The body of a loaded state file, not yet read. It is read through the
/// handle the head came from: a newer state renamed over the path meanwhile
/// does not mix in.
pub struct StateBody {
    file: File,
    path: PathBuf,
    offset: u64,
    len: usize,
}

impl StateBody {
    /// Reads the body, verifies its checksum and decodes it.
    pub fn decode(self) -> Result<SessionState, String> {
        use std::io::{Read as _, Seek as _};
        let fail = |what: String| format!("warning: {}: {what}", self.path.display());
        let mut file = &self.file;
        file.seek(std::io::SeekFrom::Start(self.offset))
            .map_err(|e| fail(format!("cannot read: {e}")))?;
        let mut bytes = vec![0; self.len + 8];
        file.read_exact(&mut bytes)
            .map_err(|_| fail("truncated body".into()))?;
        let body = checked_body(&bytes, self.len).map_err(fail)?;
        postcard::from_bytes::<SessionState>(body)
            .map_err(|e| fail(format!("undecodable payload: {e}")))
    }
}

pub fn load_state(config: &Config, schema_hash: u64) -> CacheLoad {
    let path = state_path(config);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return CacheLoad::Missing,
        Err(e) => return CacheLoad::Discarded(format!("cannot read {}: {e}", path.display())),
    };
    let discarded =
        |reason: String| CacheLoad::Discarded(format!("warning: {}: {reason}", path.display()));
    let front = match read_front(&mut std::io::BufReader::with_capacity(64 * 1024, &mut file)) {
        Ok(front) => front,
        Err(reason) => return discarded(reason),
    };
    let header = front.header.clone();
    let expected = expected_header(config, schema_hash);
    if header.format_version != expected.format_version {
        return CacheLoad::Discarded(format!(
            "state format {} (expected {})",
            header.format_version, expected.format_version
        ));
    }
    if header.analyzer_version != expected.analyzer_version
        || header.builder_version != expected.builder_version
    {
        return CacheLoad::Discarded(format!(
            "written by analyzer {} / builder {} (now {} / {})",
            header.analyzer_version,
            header.builder_version,
            expected.analyzer_version,
            expected.builder_version
        ));
    }
    if header.schema_hash != expected.schema_hash {
        return CacheLoad::Discarded("the schema changed".into());
    }
    if header.options_hash != expected.options_hash {
        return CacheLoad::Discarded("the config changed".into());
    }
    // Only now, with the format known to be this one, is the head decoded.
    let head = match front.head() {
        Ok(head) => head,
        Err(reason) => return discarded(reason),
    };
    let (offset, body_len) = (front.body_offset, front.body_len);
    CacheLoad::Loaded(Box::new(PersistedState {
        header,
        head,
        body: StateBody {
            file,
            path,
            offset,
            len: body_len,
        },
    }))
}

pub fn save_state(
    config: &Config,
    schema_hash: u64,
    head: &StateHead,
    state: &SessionState,
) -> std::io::Result<()> {
    let bytes = encode(&expected_header(config, schema_hash), head, state)
        .map_err(std::io::Error::other)?;
    write_atomic_with(&state_path(config), &bytes, Durability::Unsynced).map(|_| ())
}

/// Removes the persisted state (and everything else under the cache directory).
pub fn clear_cache(config: &Config) -> std::io::Result<()> {
    match std::fs::remove_dir_all(&config.cache_dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// An exclusive lock on `<cache_dir>/lock`, released on drop. Two builder
/// processes on one project take turns instead of interleaving writes.
pub struct CacheLock {
    _file: File,
}

pub fn lock(config: &Config) -> std::io::Result<CacheLock> {
    std::fs::create_dir_all(&config.cache_dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(config.cache_dir.join("lock"))?;
    file.lock()?;
    Ok(CacheLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> CacheHeader {
        CacheHeader {
            format_version: STATE_FORMAT_VERSION,
            analyzer_version: ANALYZER_VERSION,
            builder_version: "x".into(),
            schema_hash: 1,
            options_hash: 2,
        }
    }

    fn head() -> StateHead {
        let stat = StatKey {
            size: 10,
            mtime_ns: 20,
            inode: 30,
        };
        StateHead {
            files: vec![("src/a.ts".into(), stat), ("src/b.ts".into(), stat)],
            entries: vec!["src/a.ts".into()],
            awaited: vec!["src/c.ts".into()],
            chunk_files: vec!["src/a.ts".into()],
            defining: vec!["src/a.ts".into()],
            racy_after_ns: 5,
            elements: Arc::new(BTreeMap::from([("src/a.ts::A".into(), "{}".into())])),
            diagnostics: Vec::new(),
        }
    }

    #[test]
    fn round_trip() {
        let bytes = encode(&header(), &head(), &SessionState::default()).unwrap();
        let (h, decoded_head, body) = decode(&bytes).unwrap();
        assert_eq!(h, header());
        assert_eq!(decoded_head, head());
        assert!(postcard::from_bytes::<SessionState>(body).is_ok());
        assert!(decode(b"garbage").is_err());
    }

    /// An older format is named as such, not reported as a corrupt head:
    /// the header is checked before the head (whose layout it versions) is
    /// decoded.
    #[test]
    fn an_older_format_is_discarded_by_its_version() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("soda-gql.config.json"),
            r#"{"outdir": "graphql-system", "include": ["src/**/*.ts"], "schemas": {"default": {"schema": "./schema.graphql"}}}"#,
        )
        .unwrap();
        let config = crate::config::load_config(&dir.path().join("soda-gql.config.json")).unwrap();
        let old = CacheHeader {
            format_version: STATE_FORMAT_VERSION - 1,
            ..expected_header(&config, 7)
        };
        let bytes = assemble(
            &postcard::to_allocvec(&old).unwrap(),
            &[0xff; 7],
            &postcard::to_allocvec(&SessionState::default()).unwrap(),
        );
        std::fs::create_dir_all(&config.cache_dir).unwrap();
        std::fs::write(state_path(&config), bytes).unwrap();
        match load_state(&config, 7) {
            CacheLoad::Discarded(reason) => {
                assert!(reason.starts_with("state format"), "{reason}")
            }
            _ => panic!("an older format must be discarded"),
        }
    }

    /// Every truncation and every flipped byte, in the head or the body, is
    /// refused: by a length, the magic or a checksum, never by a panic.
    #[test]
    fn every_truncation_and_flipped_byte_is_refused() {
        let bytes = encode(&header(), &head(), &SessionState::default()).unwrap();
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "truncated to {len}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x41;
            assert!(decode(&flipped).is_err(), "byte {i} flipped");
        }
    }
}
