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

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::diagnostics::Diagnostic;
use crate::incremental::state::SessionState;
use crate::io::atomic::{write_atomic_streamed, Durability};
use crate::io::fingerprint::StatKey;
use crate::phases::analyze::ANALYZER_VERSION;

/// 7: diagnostics' snippets are bounded excerpts (`Snippet::skipped`);
/// 8: the stat key holds ctime and mode;
/// 9: no chunk manifest or pack index (the chunk pack is gone).
pub const STATE_FORMAT_VERSION: u32 = 10;
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
/// nothing changed, and to answer if so, without decoding the rest. Its
/// paths and its elements borrow from the bytes read: a build that changes
/// nothing allocates no string per file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateHead<'a> {
    /// Every file of the table with its stat, sorted by path.
    #[serde(borrow)]
    pub files: Vec<HeadFile<'a>>,
    /// Include-glob matches the table lacks (they could not be read).
    #[serde(borrow)]
    pub unread_entries: Vec<Text<'a>>,
    /// Every directory the walk listed, with its stat, sorted by path (`""`
    /// is the root, then `src/`, `src/a/`...). A directory whose stat did
    /// not move has the same entries: a build that finds every one as it
    /// was stats the table's files without listing a directory.
    #[serde(borrow)]
    pub dirs: Vec<HeadDir<'a>>,
    /// Paths whose appearance changes some file's imports: probed import
    /// candidates, and imports the table lacks (lost to a read error).
    #[serde(borrow)]
    pub awaited: Vec<Text<'a>>,
    /// Source files with definitions, sorted: an edit to one of them will
    /// likely compile, so the schema is parsed beside the body's decode.
    #[serde(borrow)]
    pub defining: Vec<Text<'a>>,
    pub racy_after_ns: u128,
    /// What the build that wrote this state reported.
    pub diagnostics: Vec<Diagnostic>,
    /// The elements (`BTreeMap<String, String>` in postcard), decoded when
    /// the build asks for them.
    #[serde(borrow)]
    pub elements: Blob<'a>,
}

/// One file of the table: its path, its stat, and whether the include
/// globs match it (an entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadFile<'a> {
    #[serde(borrow)]
    pub path: Text<'a>,
    pub stat: StatKey,
    pub entry: bool,
}

/// A walked directory (its path ends with `/`, the root's is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadDir<'a> {
    #[serde(borrow)]
    pub path: Text<'a>,
    pub stat: StatKey,
}

impl HeadDir<'_> {
    pub fn into_owned(self) -> HeadDir<'static> {
        HeadDir {
            path: self.path.into_owned(),
            stat: self.stat,
        }
    }
}

/// A string of the head: borrowed from the bytes it was decoded from,
/// borrowed from the session when it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Text<'_> {
    pub fn into_owned(self) -> Text<'static> {
        Text(Cow::Owned(self.0.into_owned()))
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Text<'a> {
        Text(Cow::Borrowed(s))
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// Bytes of the head, borrowed like [`Text`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob<'a>(pub Cow<'a, [u8]>);

impl Serialize for Blob<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Blob<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Blob<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_borrowed_bytes<E: serde::de::Error>(
                self,
                v: &'de [u8],
            ) -> Result<Blob<'de>, E> {
                Ok(Blob(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Blob<'de>, E> {
                Ok(Blob(Cow::Owned(v.to_vec())))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Blob<'de>, E> {
                Ok(Blob(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_bytes(Visitor)
    }
}

impl StateHead<'_> {
    /// A copy that borrows nothing.
    pub fn into_owned(self) -> StateHead<'static> {
        fn owned(texts: Vec<Text<'_>>) -> Vec<Text<'static>> {
            texts.into_iter().map(Text::into_owned).collect()
        }
        StateHead {
            files: self
                .files
                .into_iter()
                .map(|f| HeadFile {
                    path: f.path.into_owned(),
                    stat: f.stat,
                    entry: f.entry,
                })
                .collect(),
            unread_entries: owned(self.unread_entries),
            dirs: self.dirs.into_iter().map(HeadDir::into_owned).collect(),
            awaited: owned(self.awaited),
            defining: owned(self.defining),
            racy_after_ns: self.racy_after_ns,
            diagnostics: self.diagnostics,
            elements: Blob(Cow::Owned(self.elements.0.into_owned())),
        }
    }

    /// The elements, encoded as the head stores them.
    pub fn encode_elements(elements: &BTreeMap<String, String>) -> Blob<'static> {
        // Sized up front: postcard writes a length (≤ 5 bytes) before each
        // string. It cannot fail on a map of strings.
        let size: usize = elements.iter().map(|(k, v)| k.len() + v.len() + 10).sum();
        let out = Vec::with_capacity(size + 8);
        Blob(Cow::Owned(
            postcard::to_extend(elements, out).unwrap_or_default(),
        ))
    }

    /// The elements this head was written with.
    pub fn decode_elements(&self) -> Result<BTreeMap<String, String>, String> {
        #[derive(Deserialize)]
        struct Elements(
            #[serde(deserialize_with = "crate::phases::discover::deserialize_sorted_map")]
            BTreeMap<String, String>,
        );
        postcard::from_bytes::<Elements>(&self.elements.0)
            .map(|e| e.0)
            .map_err(|e| format!("undecodable elements: {e}"))
    }

    /// How many elements each file holds, read from the encoded elements
    /// without decoding them (ids are `<file>::<name>`, sorted, so a file's
    /// ids are adjacent), in the order of their ids.
    pub fn elements_per_file(&self) -> Result<Vec<(&str, usize)>, String> {
        let undecodable = || "undecodable elements".to_string();
        let mut bytes: &[u8] = &self.elements.0;
        let take_varint = |bytes: &mut &[u8]| -> Option<usize> {
            let mut value = 0usize;
            for shift in (0..64).step_by(7) {
                let (&byte, rest) = bytes.split_first()?;
                *bytes = rest;
                value |= usize::from(byte & 0x7f).checked_shl(shift)?;
                if byte & 0x80 == 0 {
                    return Some(value);
                }
            }
            None
        };
        let count = take_varint(&mut bytes).ok_or_else(undecodable)?;
        let mut per_file: Vec<(&str, usize)> = Vec::new();
        for _ in 0..count {
            let key_len = take_varint(&mut bytes).ok_or_else(undecodable)?;
            let key = bytes.get(..key_len).ok_or_else(undecodable)?;
            let key = std::str::from_utf8(key).map_err(|_| undecodable())?;
            bytes = &bytes[key_len..];
            let value_len = take_varint(&mut bytes).ok_or_else(undecodable)?;
            bytes = bytes.get(value_len..).ok_or_else(undecodable)?;
            let file = crate::phases::link::file_of_id(key).unwrap_or(key);
            match per_file.last_mut() {
                Some((last, n)) if *last == file => *n += 1,
                _ => per_file.push((file, 1)),
            }
        }
        Ok(per_file)
    }

    /// Every include-glob match: the table's entries and the unread ones, sorted.
    pub fn entries(&self) -> Vec<&str> {
        let mut entries: Vec<&str> = self
            .files
            .iter()
            .filter(|f| f.entry)
            .map(|f| &*f.path)
            .chain(self.unread_entries.iter().map(|e| &**e))
            .collect();
        entries.sort_unstable();
        entries
    }
}

pub struct PersistedState {
    pub header: CacheHeader,
    pub head: HeadBytes,
    /// The rest of the state, read, checksum-verified and decoded on first
    /// need: a build that changes nothing never touches it, and nothing it
    /// produces depends on unverified bytes.
    pub body: StateBody,
}

/// The checksum-verified bytes before the body, which the head borrows from.
pub struct HeadBytes(Front);

impl HeadBytes {
    /// The head, decoded in place (its checksum passed at load; a head that
    /// still does not decode is a format bug, reported as a discarded state).
    pub fn decode(&self) -> Result<StateHead<'_>, String> {
        let path = &self.0.path;
        self.0
            .head()
            .map_err(|reason| format!("warning: {}: {reason}", path.display()))
    }
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
    head: &StateHead<'_>,
    state: &SessionState,
) -> std::io::Result<Vec<u8>> {
    frame(
        Vec::new(),
        Part::Value(header),
        Part::Value(head),
        Part::Value(state),
    )
}

/// One part of a state file.
enum Part<'a, T: ?Sized> {
    /// Written as the value in postcard.
    Value(&'a T),
    /// Already encoded (a body kept from the state read).
    Raw(&'a [u8]),
    /// A head: its fields but the last, then the elements as the bytes of
    /// their postcard encoding, written straight from the map (no 4 MB
    /// blob built first for a project of 5,000 operations).
    HeadThenElements(&'a T, &'a BTreeMap<String, String>),
}

impl<T: Serialize + ?Sized> Part<'_, T> {
    fn len(&self) -> std::io::Result<usize> {
        let size = |value: &T| {
            postcard::serialize_with_flavor::<T, _, usize>(
                value,
                postcard::ser_flavors::Size::default(),
            )
            .map_err(std::io::Error::other)
        };
        match self {
            Part::Value(value) => size(value),
            Part::Raw(bytes) => Ok(bytes.len()),
            Part::HeadThenElements(fields, elements) => {
                let blob = elements_len(elements);
                Ok(size(fields)? + varint_len(blob) + blob)
            }
        }
    }

    fn write<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        let value = |value: &T, out: &mut W| {
            postcard::to_io(value, out)
                .map(|_| ())
                .map_err(std::io::Error::other)
        };
        match self {
            Part::Value(v) => value(v, out),
            Part::Raw(bytes) => out.write_all(bytes),
            Part::HeadThenElements(fields, elements) => {
                value(fields, out)?;
                write_varint(out, elements_len(elements))?;
                write_varint(out, elements.len())?;
                for (id, element) in *elements {
                    write_varint(out, id.len())?;
                    out.write_all(id.as_bytes())?;
                    write_varint(out, element.len())?;
                    out.write_all(element.as_bytes())?;
                }
                Ok(())
            }
        }
    }
}

/// [`StateHead`] without its last field, in the same order: postcard
/// writes a struct as its fields one after another, so these followed by
/// the elements as bytes are the head's encoding (a test holds the two
/// together).
#[derive(Serialize)]
pub struct HeadFields<'h, 'a> {
    files: &'h [HeadFile<'a>],
    unread_entries: &'h [Text<'a>],
    dirs: &'h [HeadDir<'a>],
    awaited: &'h [Text<'a>],
    defining: &'h [Text<'a>],
    racy_after_ns: u128,
    diagnostics: &'h [Diagnostic],
}

impl<'a> StateHead<'a> {
    /// Everything but the elements, borrowed.
    pub fn fields(&self) -> HeadFields<'_, 'a> {
        HeadFields {
            files: &self.files,
            unread_entries: &self.unread_entries,
            dirs: &self.dirs,
            awaited: &self.awaited,
            defining: &self.defining,
            racy_after_ns: self.racy_after_ns,
            diagnostics: &self.diagnostics,
        }
    }
}

/// Bytes of the elements' postcard encoding (a map of strings: a varint
/// count, then each key and value as a varint length and its bytes).
fn elements_len(elements: &BTreeMap<String, String>) -> usize {
    varint_len(elements.len())
        + elements
            .iter()
            .map(|(k, v)| varint_len(k.len()) + k.len() + varint_len(v.len()) + v.len())
            .sum::<usize>()
}

/// Bytes of postcard's varint (7 bits a byte) for `n`.
fn varint_len(n: usize) -> usize {
    (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize
}

fn write_varint(out: &mut impl std::io::Write, mut n: usize) -> std::io::Result<()> {
    let mut buf = [0u8; 10];
    let mut at = 0;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf[at] = byte;
            at += 1;
            break;
        }
        buf[at] = byte | 0x80;
        at += 1;
    }
    out.write_all(&buf[..at])
}

/// The one writer of the layout [`encode`] describes, around its three
/// parts, streamed: each part's length is measured first (postcard walks
/// the value without writing), so no part is encoded into a buffer of its
/// own. A 7 MB state built in one buffer cost the build that much fresh
/// memory, which this VM pays for page by page.
struct Frame<'a, H: ?Sized, B: ?Sized> {
    header: Part<'a, CacheHeader>,
    head: Part<'a, H>,
    body: Part<'a, B>,
    lens: [usize; 3],
}

impl<'a, H: Serialize + ?Sized, B: Serialize + ?Sized> Frame<'a, H, B> {
    fn new(
        header: Part<'a, CacheHeader>,
        head: Part<'a, H>,
        body: Part<'a, B>,
    ) -> std::io::Result<Self> {
        let lens = [header.len()?, head.len()?, body.len()?];
        if u32::try_from(lens[0]).is_err() {
            return Err(std::io::Error::other(
                "a state header too large for its length field",
            ));
        }
        Ok(Frame {
            header,
            head,
            body,
            lens,
        })
    }

    /// Bytes of the whole file.
    fn len(&self) -> usize {
        MAGIC.len() + 4 + self.lens[0] + 8 + self.lens[1] + 8 + 8 + self.lens[2] + 8
    }

    fn write_to<W: std::io::Write>(&self, out: W) -> std::io::Result<W> {
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, Hashed::new(out));
        out.write_all(MAGIC)?;
        out.write_all(&(self.lens[0] as u32).to_le_bytes())?;
        part_exactly(&mut out, &self.header, self.lens[0])?;
        out.write_all(&(self.lens[1] as u64).to_le_bytes())?;
        part_exactly(&mut out, &self.head, self.lens[1])?;
        let head_checksum = checkpoint(&mut out)?;
        let inner = &mut out.get_mut().inner;
        inner.write_all(&head_checksum.to_le_bytes())?;
        inner.write_all(&(self.lens[2] as u64).to_le_bytes())?;
        part_exactly(&mut out, &self.body, self.lens[2])?;
        let body_checksum = checkpoint(&mut out)?;
        let mut out = out.into_inner().map_err(|e| e.into_error())?.inner;
        out.write_all(&body_checksum.to_le_bytes())?;
        Ok(out)
    }
}

/// Builds the file of `encode`'s layout in memory (tests, and a body kept
/// from the state read).
fn frame<H: Serialize + ?Sized, B: Serialize + ?Sized>(
    out: Vec<u8>,
    header: Part<'_, CacheHeader>,
    head: Part<'_, H>,
    body: Part<'_, B>,
) -> std::io::Result<Vec<u8>> {
    Frame::new(header, head, body)?.write_to(out)
}

/// Writes a part, which must come to `len` bytes.
fn part_exactly<W: std::io::Write, T: Serialize + ?Sized>(
    out: &mut std::io::BufWriter<Hashed<W>>,
    part: &Part<'_, T>,
    len: usize,
) -> std::io::Result<()> {
    out.flush()?;
    let at = out.get_ref().written;
    part.write(out)?;
    out.flush()?;
    if out.get_ref().written - at != len {
        return Err(length_mismatch());
    }
    Ok(())
}

fn length_mismatch() -> std::io::Error {
    std::io::Error::other("a state part's encoding differs from its measured length")
}

/// The checksum of everything hashed since the last checkpoint; what
/// follows is hashed afresh.
fn checkpoint<W: std::io::Write>(out: &mut std::io::BufWriter<Hashed<W>>) -> std::io::Result<u64> {
    out.flush()?;
    let hashed = out.get_mut();
    let checksum = hashed.hasher.digest();
    hashed.hasher.reset();
    Ok(checksum)
}

/// A writer that hashes (xxh3) and counts what goes through it.
struct Hashed<W> {
    inner: W,
    hasher: xxhash_rust::xxh3::Xxh3,
    written: usize,
}

impl<W> Hashed<W> {
    fn new(inner: W) -> Hashed<W> {
        Hashed {
            inner,
            hasher: xxhash_rust::xxh3::Xxh3::new(),
            written: 0,
        }
    }
}

impl<W: std::io::Write> std::io::Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Splits an encoded state into header, head and body, verifying both
/// checksums.
pub fn decode(bytes: &[u8]) -> Result<(CacheHeader, StateHead<'_>, &[u8]), String> {
    let mut reader: &[u8] = bytes;
    let front = read_front(&mut reader)?;
    // The front is a prefix of `bytes`: the head borrows from them.
    let head = decode_head(&bytes[front.head.clone()])?;
    let (header, body_len) = (front.header, front.body_len);
    let body = checked_body(reader, body_len)?;
    Ok((header, head, body))
}

fn decode_head(bytes: &[u8]) -> Result<StateHead<'_>, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("undecodable head: {e}"))
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
    /// Where it was read from, for messages.
    path: PathBuf,
    bytes: Vec<u8>,
    head: std::ops::Range<usize>,
    body_len: usize,
    /// Where the body starts.
    body_offset: u64,
}

impl Front {
    fn head(&self) -> Result<StateHead<'_>, String> {
        decode_head(&self.bytes[self.head.clone()])
    }
}

/// Reads and verifies everything before the body.
fn read_front(file: &mut impl std::io::Read) -> Result<Front, String> {
    // Read straight into the buffer's spare capacity: no zeroing first,
    // no copy out of a reader's buffer.
    fn take(file: &mut impl std::io::Read, n: usize, front: &mut Vec<u8>) -> Result<(), String> {
        use std::io::Read as _;
        let start = front.len();
        front.reserve_exact(n);
        match file.take(n as u64).read_to_end(front) {
            Ok(read) if read == n => Ok(()),
            _ => {
                front.truncate(start);
                Err("not a state file (bad magic or truncated)".to_owned())
            }
        }
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
        path: PathBuf::new(),
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
    /// `elements` are the head's: the body holds only which entries have one.
    pub fn decode(self, elements: Arc<BTreeMap<String, String>>) -> Result<SessionState, String> {
        let bytes = self.read()?;
        let mut state = postcard::from_bytes::<SessionState>(&bytes[..self.len])
            .map_err(|e| self.fail(format!("undecodable payload: {e}")))?;
        state.restore_elements(elements).map_err(|e| self.fail(e))?;
        Ok(state)
    }

    /// The body's bytes (and their checksum), verified, not decoded: what a
    /// new head is written in front of when only the head moved.
    fn read(&self) -> Result<Vec<u8>, String> {
        use std::io::{Read as _, Seek as _};
        let mut file = &self.file;
        file.seek(std::io::SeekFrom::Start(self.offset))
            .map_err(|e| self.fail(format!("cannot read: {e}")))?;
        let mut bytes = Vec::with_capacity(self.len + 8);
        match file.take(self.len as u64 + 8).read_to_end(&mut bytes) {
            Ok(n) if n == self.len + 8 => {}
            _ => return Err(self.fail("truncated body".into())),
        }
        checked_body(&bytes, self.len).map_err(|e| self.fail(e))?;
        Ok(bytes)
    }

    fn fail(&self, what: String) -> String {
        format!("warning: {}: {what}", self.path.display())
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
    let front = match read_front(&mut file) {
        Ok(front) => Front {
            path: path.clone(),
            ..front
        },
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
    // Only now, with the format known to be this one, may the head be
    // decoded (`PersistedState::head`).
    let (offset, body_len) = (front.body_offset, front.body_len);
    CacheLoad::Loaded(Box::new(PersistedState {
        header,
        head: HeadBytes(front),
        body: StateBody {
            file,
            path,
            offset,
            len: body_len,
        },
    }))
}

/// Writes the state file, streamed into its temp file: `head`'s own
/// elements are ignored, `elements` are written in their place.
pub fn write_state(
    config: &Config,
    schema_hash: u64,
    head: &StateHead<'_>,
    elements: &BTreeMap<String, String>,
    state: &SessionState,
) -> std::io::Result<()> {
    let header = expected_header(config, schema_hash);
    let fields = head.fields();
    let frame = Frame::new(
        Part::Value(&header),
        Part::HeadThenElements(&fields, elements),
        Part::Value(state),
    )?;
    write_frame(config, &frame)
}

/// Writes `head` in front of the body a loaded state already has, without
/// decoding it: a build that found nothing changed but the head (the
/// directories it listed again, the racy window) persists that.
pub fn save_head(
    config: &Config,
    schema_hash: u64,
    head: &StateHead<'_>,
    body: &StateBody,
) -> std::io::Result<()> {
    let bytes = body.read().map_err(std::io::Error::other)?;
    let header = expected_header(config, schema_hash);
    let frame = Frame::new(
        Part::Value(&header),
        Part::Value(head),
        Part::<()>::Raw(&bytes[..body.len]),
    )?;
    write_frame(config, &frame)
}

/// Streams `frame` into the state file's temp file and renames it in place.
fn write_frame<H: Serialize + ?Sized, B: Serialize + ?Sized>(
    config: &Config,
    frame: &Frame<'_, H, B>,
) -> std::io::Result<()> {
    write_atomic_streamed(
        &state_path(config),
        Durability::Unsynced,
        frame.len(),
        |file| frame.write_to(file).map(|_| ()),
    )
    .map(|_| ())
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
    /// Cache entries that were not files (a directory, a dangling symlink)
    /// and were removed: one warning each, for the build's output.
    pub repaired: Vec<String>,
}

/// The files of the cache directory a build reads and writes.
const CACHE_FILES: [&str; 3] = ["lock", STATE_FILE, crate::phases::artifact::STAMP_FILE];

/// What earlier versions kept in the cache directory and this one no longer
/// reads: the chunk pack (format ≤ 8) and, before it, one file per chunk.
const LEFT_BY_EARLIER_VERSIONS: [&str; 2] = ["chunks.pack", "chunks"];

/// Removes what stands where a cache file belongs but is not one: a
/// directory (every write failed, exit 2, naming the cache directory), or a
/// symlink to nothing (the lock could not be created). The cache is
/// derived data: losing it costs a cold build, never the build.
fn clear_obstacles(config: &Config) -> Vec<String> {
    let mut repaired = Vec::new();
    for name in CACHE_FILES {
        let path = config.cache_dir.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let what = if meta.is_dir() {
            "is a directory"
        } else if meta.file_type().is_symlink() && std::fs::metadata(&path).is_err() {
            "is a symlink to nothing"
        } else {
            continue;
        };
        let removed = if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        repaired.push(match removed {
            Ok(()) => format!(
                "warning: {} {what}, not a cache file: removed it (the build writes it afresh)",
                path.display()
            ),
            Err(e) => format!(
                "warning: {} {what}, not a cache file, and cannot be removed ({e}): remove it by hand",
                path.display()
            ),
        });
    }
    repaired
}

pub fn lock(config: &Config) -> std::io::Result<CacheLock> {
    std::fs::create_dir_all(&config.cache_dir)?;
    let repaired = clear_obstacles(config);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(config.cache_dir.join("lock"))?;
    file.lock()?;
    for name in LEFT_BY_EARLIER_VERSIONS {
        let path = config.cache_dir.join(name);
        if std::fs::remove_file(&path).is_err() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    crate::io::atomic::remove_stale_temps(&config.cache_dir);
    if let Some(dir) = config.artifact_path.parent() {
        if dir != config.cache_dir {
            crate::io::atomic::remove_stale_temps(dir);
        }
    }
    Ok(CacheLock {
        _file: file,
        repaired,
    })
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

    fn head() -> StateHead<'static> {
        let stat = StatKey {
            size: 10,
            mtime_ns: 20,
            inode: 30,
            ctime_ns: 40,
            mode: 0o100644,
        };
        let file = |path: &'static str, entry| HeadFile {
            path: path.into(),
            stat,
            entry,
        };
        StateHead {
            files: vec![file("src/a.ts", true), file("src/b.ts", false)],
            unread_entries: vec!["src/z.ts".into()],
            dirs: vec![
                HeadDir {
                    path: "".into(),
                    stat,
                },
                HeadDir {
                    path: "src/".into(),
                    stat,
                },
            ],
            awaited: vec!["src/c.ts".into()],
            defining: vec!["src/a.ts".into()],
            racy_after_ns: 5,
            elements: StateHead::encode_elements(&BTreeMap::from([(
                "src/a.ts::A".into(),
                "{}".into(),
            )])),
            diagnostics: Vec::new(),
        }
    }

    #[test]
    fn a_head_streamed_with_its_elements_encodes_as_the_head_with_them_as_a_blob() {
        // Lengths across varint boundaries (127/128 bytes, 16,384).
        let elements: BTreeMap<String, String> = [
            ("src/a.ts::A".to_string(), "{}".to_string()),
            ("x".repeat(127), "y".repeat(128)),
            ("z".to_string(), "w".repeat(16_384)),
        ]
        .into_iter()
        .chain((0..200).map(|i| (format!("src/b{i}.ts::B"), format!("{{\"n\":{i}}}"))))
        .collect();
        let mut head = head();
        let fields = head.fields();
        let streamed = frame(
            Vec::new(),
            Part::Value(&header()),
            Part::HeadThenElements(&fields, &elements),
            Part::Value(&SessionState::default()),
        )
        .unwrap();
        head.elements = StateHead::encode_elements(&elements);
        let whole = encode(&header(), &head, &SessionState::default()).unwrap();
        assert_eq!(streamed, whole);
        let (_, decoded, _) = decode(&streamed).unwrap();
        assert_eq!(decoded.decode_elements().unwrap(), elements);
        for n in [0, 1, 127, 128, 16_383, 16_384, usize::MAX] {
            let mut out = Vec::new();
            write_varint(&mut out, n).unwrap();
            assert_eq!(out.len(), varint_len(n), "{n}");
            assert_eq!(out, postcard::to_allocvec(&n).unwrap(), "{n}");
        }
    }

    #[test]
    fn elements_per_file_are_counted_without_decoding_and_a_corrupt_blob_is_refused() {
        let elements: BTreeMap<String, String> = [
            ("src/a.ts.bak::Z", "{}"),
            ("src/a.ts::X", "{}"),
            ("src/a.ts::Y", &"v".repeat(300)),
            ("src/b.ts::W", "{}"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let head = StateHead {
            elements: StateHead::encode_elements(&elements),
            ..StateHead::default()
        };
        // `.` sorts before `:`: a file named like another's prefix comes first.
        assert_eq!(
            head.elements_per_file().unwrap(),
            vec![("src/a.ts.bak", 1), ("src/a.ts", 2), ("src/b.ts", 1)]
        );
        let mut cut = head.elements.0.to_vec();
        cut.truncate(cut.len() - 5);
        let corrupt = StateHead {
            elements: Blob(Cow::Owned(cut)),
            ..StateHead::default()
        };
        assert!(corrupt.elements_per_file().is_err());
    }

    #[test]
    fn round_trip() {
        let bytes = encode(&header(), &head(), &SessionState::default()).unwrap();
        let (h, decoded_head, body) = decode(&bytes).unwrap();
        assert_eq!(h, header());
        assert_eq!(decoded_head, head());
        // Paths and elements borrow from the bytes.
        assert!(matches!(decoded_head.files[0].path.0, Cow::Borrowed(_)));
        assert!(matches!(decoded_head.elements.0, Cow::Borrowed(_)));
        assert_eq!(decoded_head.entries(), vec!["src/a.ts", "src/z.ts"]);
        assert_eq!(
            decoded_head.decode_elements().unwrap(),
            BTreeMap::from([("src/a.ts::A".into(), "{}".into())])
        );
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
        let bytes = frame(
            Vec::new(),
            Part::Value(&old),
            Part::<()>::Raw(&[0xff; 7]),
            Part::Value(&SessionState::default()),
        )
        .unwrap();
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
