//! The connection-string grammar: `postgres://` URLs and libpq key/value
//! strings read into [`DbUrl`] without connecting, and parameters added to
//! them. The grammar is libpq's (diesel hands the string to libpq), not RFC
//! 3986's: the user-info ends at the first `@` that comes before any `/`, so
//! `:`, `?` and `#` in a password work unencoded, and there is no
//! `#fragment`. When the writer meant something else (an unencoded `@` or `/`
//! in the password) an `@` turns up after the user-info. That stray `@` is how
//! a garbled password is told from a typo, and it is why no error here quotes
//! any text: the text we could not place may be half a password.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use super::MASK;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

const ENCODE_RULE: &str = "special characters in the password must be percent-encoded \
     (@ → %40, : → %3A, / → %2F, # → %23, ? → %3F, % → %25, space → %20)";

/// Query parameters whose values may hold an `@` of their own (user names like
/// `me@corp`, file paths, abstract sockets `@name`). An `@` anywhere else after
/// the user-info means the password was not encoded.
const AT_IN_VALUE: &[&str] = &[
    "user",
    "password",
    "options",
    "application_name",
    "fallback_application_name",
    "dbname",
    "host",
    "service",
    "passfile",
    "sslpassword",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
];

/// Why a database URL was refused. No variant carries text from the URL but
/// the scheme: anything after `://` may be part of a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// Nothing but whitespace.
    Empty,
    /// A URL with spaces or a newline around it: libpq would not see a URL
    /// (leading) or would read them into the last part (trailing).
    Whitespace,
    /// `scheme://…` with a scheme other than `postgres`/`postgresql`.
    WrongScheme { scheme: String },
    /// Neither a `postgres://` URL nor a `key=value` string.
    NotAUrl,
    /// An `@` after the user-info: a special character in the password (or
    /// user name) was not percent-encoded, so we cannot tell where it ends.
    SpecialCharacter,
    /// A `%` without two hex digits after it, or `%00`; libpq refuses both.
    BadPercentEncoding,
    /// Unbalanced `[…]`, an empty `[]`, or whitespace in a host.
    BadHost,
    /// A port that is not 1-65535 written in digits.
    BadPort,
    /// A query parameter that is not exactly one `key=value`.
    BadParam,
    /// A key/value string libpq would not parse (missing `=`, unterminated
    /// quote, a keyword that is not a word).
    BadKeyValue,
}

impl UrlError {
    pub fn message(&self) -> String {
        match self {
            UrlError::Empty => "the database URL is empty".into(),
            UrlError::Whitespace => {
                "the database URL starts or ends with whitespace: libpq would not take it for a URL, or would read \
                 the whitespace into its last part"
                    .into()
            }
            UrlError::WrongScheme { scheme }
                if scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql") =>
            {
                format!(
                    "the database URL's scheme `{scheme}://` must be lowercase: libpq only recognises `postgres://` \
                     and `postgresql://`"
                )
            }
            UrlError::WrongScheme { scheme } => {
                format!("the database URL has scheme `{scheme}://`; cargo-migrate speaks PostgreSQL only")
            }
            UrlError::NotAUrl => {
                "the database URL is neither a postgres:// URL nor a key/value connection string (host=… dbname=…)"
                    .into()
            }
            UrlError::SpecialCharacter => format!(
                "the database URL has an `@` after its user name and password, so where the password ends cannot be \
                 told: {ENCODE_RULE}"
            ),
            UrlError::BadPercentEncoding => format!(
                "the database URL has a `%` that is not followed by two hex digits (or encodes a NUL byte): \
                 {ENCODE_RULE}"
            ),
            UrlError::BadHost => {
                "the database URL's host is not valid (an IPv6 address goes in brackets, `[::1]`; no spaces)".into()
            }
            UrlError::BadPort => "the part after the host is not a port number (1-65535)".into(),
            UrlError::BadParam => "a query parameter of the database URL is not a single `key=value` (an `&` or `=` \
                                   inside a value must be written %26 or %3D)"
                .into(),
            UrlError::BadKeyValue => "the connection string is not a valid key/value string: each setting is \
                                      `key=value`, and a value with spaces, quotes or backslashes is single-quoted \
                                      with \\' and \\\\ inside"
                .into(),
        }
    }
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for UrlError {}

/// The parts of a connection string we check and show. For a URL `params`
/// are its decoded query parameters; for a key/value string, every setting.
/// Either way in order, as written.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DbUrl {
    pub user: Option<String>,
    pub password: Option<String>,
    /// The first host (only the first matters for our checks); a socket
    /// directory starts with `/`; empty means libpq's default socket.
    pub host: String,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    pub params: Vec<(String, String)>,
}

/// Hand-written so that `{:?}` (a test failure, a stray `dbg!`) never prints
/// the password.
impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<(&str, &str)> =
            self.params.iter().map(|(k, v)| (k.as_str(), if k == "password" { MASK } else { v.as_str() })).collect();
        f.debug_struct("DbUrl")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| MASK))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("params", &params)
            .finish()
    }
}

impl DbUrl {
    #[cfg(test)]
    /// Parse a `postgres://` URL. Key/value strings are accepted by libpq
    /// too; for those this answers None (use [`parse_any`] to read them).
    pub fn parse(url: &str) -> Result<Option<DbUrl>, UrlError> {
        match shape(url) {
            Shape::Url(u) => parse_url(url, &u).map(Some),
            Shape::KeyValue => Ok(None),
            Shape::Empty => Err(UrlError::Empty),
            Shape::NotAUrl => Err(UrlError::NotAUrl),
        }
    }

    /// Parse a libpq key/value string (`host=h port=5432 password='a b'`).
    pub fn parse_key_value(s: &str) -> Result<DbUrl, UrlError> {
        let scan = scan_kv(s);
        if scan.failed {
            return Err(UrlError::BadKeyValue);
        }
        let mut url = DbUrl::default();
        let mut hostaddr = None;
        for pair in &scan.pairs {
            let key = &s[pair.key.clone()];
            if !is_keyword(key) {
                return Err(UrlError::BadKeyValue);
            }
            apply(&mut url, &mut hostaddr, key, &pair.value)?;
            url.params.push((key.to_string(), pair.value.clone()));
        }
        Ok(with_hostaddr(url, hostaddr))
    }

    /// `user@host:port/db`, for messages; never the password.
    pub fn target(&self) -> String {
        let host = if self.host.is_empty() {
            "localhost".to_string()
        } else if self.host.contains(':') && !self.host.starts_with('/') {
            // Brackets, or `::1:5432` could not be read back.
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "{}@{}:{}/{}",
            self.user.as_deref().unwrap_or("(default user)"),
            host,
            self.port.unwrap_or(5432),
            self.dbname.as_deref().unwrap_or("(default database)")
        )
    }

    /// Whether the server is on this machine: localhost, 127.0.0.0/8, ::1,
    /// libpq's default socket (empty host), a socket directory (`/…`) or an
    /// abstract socket (`@…`).
    pub fn is_local(&self) -> bool {
        let h = self.host.as_str();
        h.is_empty()
            || h.starts_with('/')
            || h.starts_with('@')
            || h.eq_ignore_ascii_case("localhost")
            || h.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
            || h.parse::<Ipv6Addr>()
                .is_ok_and(|a| a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
    }

    #[cfg(test)]
    /// The value of a parameter; the last one wins, as in libpq.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Parse either form libpq accepts: a `postgres://` URL or a key/value string.
pub fn parse_any(s: &str) -> Result<DbUrl, UrlError> {
    match shape(s) {
        Shape::Url(u) => parse_url(s, &u),
        Shape::KeyValue => DbUrl::parse_key_value(s),
        Shape::Empty => Err(UrlError::Empty),
        Shape::NotAUrl => Err(UrlError::NotAUrl),
    }
}

/// Everything but RFC 3986's unreserved characters, so an encoded value is
/// safe in any part of a URL.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Decode `%XX` escapes as bytes, then read the bytes as UTF-8 (lossily). A
/// `%` without two hex digits stays as it is: this is for showing and
/// redacting; parsing refuses such escapes, as libpq does.
pub fn percent_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Percent-encode everything but RFC 3986's unreserved characters.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, ENCODE).to_string()
}

/// Add parameters (`connect_timeout`, `application_name`) to a connection
/// string, skipping keys it already has, so the user's own settings win. A
/// URL gets `?k=v`/`&k=v`, percent-encoded, after its real query (found the
/// way libpq finds it, so a `?` in the password does not count); a key/value
/// string gets ` k='v'`, quoted.
pub fn with_params(url: &str, params: &[(&str, &str)]) -> String {
    if let Shape::Url(u) = shape(url) {
        let scan = scan_url(url, u.body, u.end);
        let mut present: Vec<String> = scan.params.iter().map(|p| percent_decode(&url[p.key.clone()])).collect();
        let mut out = url[..u.end].to_string();
        let mut has_query = scan.query.is_some();
        for (k, v) in params {
            if present.iter().any(|p| p == k) {
                continue;
            }
            if !has_query {
                out.push('?');
            } else if !out.ends_with('?') && !out.ends_with('&') {
                out.push('&');
            }
            out.push_str(&percent_encode(k));
            out.push('=');
            out.push_str(&percent_encode(v));
            has_query = true;
            present.push(k.to_string());
        }
        // Trailing whitespace stays where it was rather than inside the query.
        out.push_str(&url[u.end..]);
        return out;
    }
    let scan = scan_kv(url);
    let mut present: Vec<&str> = scan.pairs.iter().map(|p| &url[p.key.clone()]).collect();
    let mut added = Vec::new();
    for (k, v) in params {
        if present.contains(k) {
            continue;
        }
        added.push(format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")));
        present.push(k);
    }
    if added.is_empty() {
        return url.to_string();
    }
    let added = added.join(" ");
    if url.trim().is_empty() {
        added
    } else if url.trim_end().ends_with('\\') {
        // A trailing backslash would escape the space we put before our
        // settings and swallow them into the last value; in front is safe.
        format!("{added} {url}")
    } else {
        format!("{url} {added}")
    }
}

/// What kind of connection string this is, told mostly as libpq tells it: a
/// URL by its `scheme://` prefix, the rest key/value. Unlike libpq we take a
/// `scheme:` start (`localhost:5432`, `postgres:/x`) for a broken URL rather
/// than a key/value string, so it is refused and masked whole.
pub(super) enum Shape {
    Empty,
    Url(UrlShape),
    KeyValue,
    NotAUrl,
}

/// Byte positions in the original string, so masking can splice into it.
pub(super) struct UrlShape {
    pub(super) scheme: Range<usize>,
    /// Just after `://`.
    pub(super) body: usize,
    /// Before any trailing whitespace.
    pub(super) end: usize,
    /// Whitespace before or after.
    pub(super) padded: bool,
}

pub(super) fn shape(s: &str) -> Shape {
    let start = s.len() - s.trim_start().len();
    let end = s.trim_end().len();
    if start >= end {
        return Shape::Empty;
    }
    let t = &s.as_bytes()[start..end];
    // A scheme is a letter, then letters, digits, `+`, `-` or `.`. A key/value
    // string cannot start like that and then have `:` before any `=`: its
    // first keyword is a word followed by `=` or a space.
    let mut i = 0;
    if t[0].is_ascii_alphabetic() {
        while i < t.len() && (t[i].is_ascii_alphanumeric() || matches!(t[i], b'+' | b'-' | b'.')) {
            i += 1;
        }
    }
    if i > 0 && i < t.len() && t[i] == b':' {
        if t[i + 1..].starts_with(b"//") {
            return Shape::Url(UrlShape {
                scheme: start..start + i,
                body: start + i + 3,
                end,
                padded: start > 0 || end < s.len(),
            });
        }
        // `localhost:5432`, `postgres:/x`: meant as a URL, so not a
        // key/value string even if a `=` follows.
        return Shape::NotAUrl;
    }
    if t.contains(&b'=') {
        Shape::KeyValue
    } else {
        Shape::NotAUrl
    }
}

pub(super) struct Creds {
    pub(super) user: Range<usize>,
    pub(super) password: Option<Range<usize>>,
    /// The `@` that ends the user-info.
    pub(super) at: usize,
}

pub(super) struct HostSpec {
    pub(super) host: Range<usize>,
    pub(super) port: Option<Range<usize>>,
    pub(super) bad: bool,
}

pub(super) struct Param {
    pub(super) key: Range<usize>,
    pub(super) value: Option<Range<usize>>,
    pub(super) extra_eq: bool,
}

/// Where the parts of a URL are. Scanning never fails, so masking and
/// [`with_params`] can use the structure of a URL that does not validate.
pub(super) struct UrlScan {
    pub(super) creds: Option<Creds>,
    pub(super) hosts: Vec<HostSpec>,
    pub(super) dbname: Option<Range<usize>>,
    /// The `?` that starts the query.
    pub(super) query: Option<usize>,
    pub(super) params: Vec<Param>,
    /// An `@` after the user-info, outside values that may hold one: the
    /// user-info is not where the writer meant it to be.
    pub(super) stray_at: bool,
}

/// Split `s[body..end]` as libpq's `conninfo_uri_parse_options` does.
pub(super) fn scan_url(s: &str, body: usize, end: usize) -> UrlScan {
    let b = s.as_bytes();
    let is = |p: usize, set: &[u8]| p < end && set.contains(&b[p]);
    let mut scan =
        UrlScan { creds: None, hosts: Vec::new(), dbname: None, query: None, params: Vec::new(), stray_at: false };
    let mut p = body;

    let mut q = p;
    while q < end && b[q] != b'@' && b[q] != b'/' {
        q += 1;
    }
    if is(q, b"@") {
        let colon = s[p..q].find(':').map(|i| p + i);
        scan.creds = Some(Creds { user: p..colon.unwrap_or(q), password: colon.map(|c| c + 1..q), at: q });
        p = q + 1;
    }

    loop {
        let mut spec = HostSpec { host: p..p, port: None, bad: false };
        if is(p, b"[") {
            let start = p + 1;
            match s[start..end].find(']') {
                Some(i) => {
                    spec.host = start..start + i;
                    spec.bad = i == 0;
                    p = start + i + 1;
                    if p < end && !is(p, b":/?,") {
                        spec.bad = true;
                        while p < end && !is(p, b":/?,") {
                            p += 1;
                        }
                    }
                }
                None => {
                    spec.host = start..end;
                    spec.bad = true;
                    p = end;
                }
            }
        } else {
            let start = p;
            while p < end && !is(p, b":/?,") {
                p += 1;
            }
            spec.host = start..p;
        }
        if is(p, b":") {
            p += 1;
            let start = p;
            while p < end && !is(p, b"/?,") {
                p += 1;
            }
            spec.port = Some(start..p);
        }
        scan.hosts.push(spec);
        if is(p, b",") {
            p += 1;
            continue;
        }
        break;
    }

    if is(p, b"/") {
        p += 1;
        let start = p;
        while p < end && b[p] != b'?' {
            p += 1;
        }
        scan.dbname = Some(start..p);
    }

    if is(p, b"?") {
        scan.query = Some(p);
        p += 1;
        while p < end {
            let start = p;
            let (mut eq, mut extra_eq) = (None, false);
            while p < end && b[p] != b'&' {
                if b[p] == b'=' {
                    extra_eq |= eq.is_some();
                    eq.get_or_insert(p);
                }
                p += 1;
            }
            scan.params.push(Param { key: start..eq.unwrap_or(p), value: eq.map(|e| e + 1..p), extra_eq });
            p += 1;
        }
    }

    let after = scan.creds.as_ref().map_or(body, |c| c.at + 1);
    scan.stray_at = s[after..end].match_indices('@').any(|(i, _)| {
        let i = after + i;
        !scan.params.iter().any(|p| {
            p.value.as_ref().is_some_and(|v| v.contains(&i))
                && AT_IN_VALUE.contains(&percent_decode(&s[p.key.clone()]).as_str())
        })
    });
    scan
}

fn parse_url(s: &str, shape: &UrlShape) -> Result<DbUrl, UrlError> {
    let scheme = &s[shape.scheme.clone()];
    if !matches!(scheme, "postgres" | "postgresql") {
        return Err(UrlError::WrongScheme { scheme: scheme.to_string() });
    }
    let scan = scan_url(s, shape.body, shape.end);
    if scan.stray_at {
        return Err(UrlError::SpecialCharacter);
    }
    if shape.padded {
        return Err(UrlError::Whitespace);
    }
    let mut url = DbUrl::default();
    if let Some(c) = &scan.creds {
        url.user = non_empty(decode_strict(&s[c.user.clone()])?);
        if let Some(pw) = &c.password {
            url.password = non_empty(decode_strict(&s[pw.clone()])?);
        }
    }
    for (i, spec) in scan.hosts.iter().enumerate() {
        if spec.bad {
            return Err(UrlError::BadHost);
        }
        let host = decode_strict(&s[spec.host.clone()])?;
        check_host(&host)?;
        let port = match &spec.port {
            Some(r) => parse_port(&decode_strict(&s[r.clone()])?)?,
            None => None,
        };
        if i == 0 {
            url.host = host;
            url.port = port;
        }
    }
    if let Some(r) = &scan.dbname {
        url.dbname = non_empty(decode_strict(&s[r.clone()])?);
    }
    let mut hostaddr = None;
    for p in &scan.params {
        let Some(v) = &p.value else { return Err(UrlError::BadParam) };
        if p.extra_eq {
            return Err(UrlError::BadParam);
        }
        let key = decode_strict(&s[p.key.clone()])?;
        if !is_keyword(&key) {
            return Err(UrlError::BadParam);
        }
        let value = decode_strict(&s[v.clone()])?;
        // Query parameters override the authority, as libpq stores them last.
        apply(&mut url, &mut hostaddr, &key, &value)?;
        url.params.push((key, value));
    }
    Ok(with_hostaddr(url, hostaddr))
}

/// One setting, from a query parameter or a key/value pair.
fn apply(url: &mut DbUrl, hostaddr: &mut Option<String>, key: &str, value: &str) -> Result<(), UrlError> {
    match key {
        "host" => url.host = first_host(value)?,
        "hostaddr" => *hostaddr = Some(first_host(value)?),
        "port" => {
            let mut first = None;
            for (i, p) in value.split(',').enumerate() {
                let port = parse_port(p)?;
                if i == 0 {
                    first = port;
                }
            }
            url.port = first;
        }
        "user" => url.user = non_empty(value.to_string()),
        "password" => url.password = non_empty(value.to_string()),
        "dbname" => url.dbname = non_empty(value.to_string()),
        _ => {}
    }
    Ok(())
}

/// Without a host, libpq connects to `hostaddr`; that is the one to judge.
fn with_hostaddr(mut url: DbUrl, hostaddr: Option<String>) -> DbUrl {
    if let (true, Some(a)) = (url.host.is_empty(), hostaddr) {
        url.host = a;
    }
    url
}

fn first_host(list: &str) -> Result<String, UrlError> {
    for h in list.split(',') {
        check_host(h)?;
    }
    Ok(list.split(',').next().unwrap_or("").to_string())
}

fn check_host(h: &str) -> Result<(), UrlError> {
    if h.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(UrlError::BadHost)
    } else {
        Ok(())
    }
}

/// Digits only: `u16::from_str` would also take `+5432`.
fn parse_port(p: &str) -> Result<Option<u16>, UrlError> {
    let p = p.trim_matches(' ');
    if p.is_empty() {
        return Ok(None);
    }
    match p.parse::<u16>() {
        Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => Err(UrlError::BadPort),
    }
}

/// libpq's option names are lowercase words; anything else is a typo or a
/// piece of something else (a password) that libpq would refuse, quoting it.
fn is_keyword(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Percent-decode, refusing what libpq refuses (`%` without two hex digits,
/// `%00`) before libpq does so with the whole part, password included, in
/// its message.
fn decode_strict(s: &str) -> Result<String, UrlError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (hex_at(b, i + 1), hex_at(b, i + 2)) {
                (Some(h), Some(l)) if h != 0 || l != 0 => i += 3,
                _ => return Err(UrlError::BadPercentEncoding),
            }
        } else {
            i += 1;
        }
    }
    Ok(percent_decode(s))
}

fn hex_at(b: &[u8], i: usize) -> Option<u8> {
    b.get(i).and_then(|&c| (c as char).to_digit(16)).map(|d| d as u8)
}

pub(super) struct KvPair {
    pub(super) key: Range<usize>,
    /// The value as written, quotes included: what masking replaces.
    pub(super) token: Range<usize>,
    /// The value without its quotes, escapes still in.
    pub(super) inner: Range<usize>,
    pub(super) value: String,
}

pub(super) struct KvScan {
    pub(super) pairs: Vec<KvPair>,
    /// Stopped early: a keyword without `=`, or an unterminated quote.
    pub(super) failed: bool,
}

/// C's `isspace`, which libpq uses to separate settings.
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Split a key/value string as libpq's `conninfo_parse` does: spaces are
/// allowed around `=`, a value is bare (to the next space) or single-quoted,
/// and a backslash escapes the next character in both.
pub(super) fn scan_kv(s: &str) -> KvScan {
    let b = s.as_bytes();
    let mut pairs = Vec::new();
    let mut i = 0;
    let failed = loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break false;
        }
        let key_start = i;
        while i < b.len() && b[i] != b'=' && !is_space(b[i]) {
            i += 1;
        }
        let key = key_start..i;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            break true;
        }
        i += 1;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        let token_start = i;
        let quoted = i < b.len() && b[i] == b'\'';
        if quoted {
            i += 1;
        }
        let inner_start = i;
        let mut value = Vec::new();
        let mut closed = false;
        while i < b.len() {
            match b[i] {
                b'\\' => {
                    i += 1;
                    if i < b.len() {
                        value.push(b[i]);
                        i += 1;
                    }
                }
                b'\'' if quoted => {
                    closed = true;
                    break;
                }
                c if !quoted && is_space(c) => break,
                c => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        if quoted && !closed {
            break true;
        }
        let inner = inner_start..i;
        if quoted {
            i += 1;
        }
        pairs.push(KvPair { key, token: token_start..i, inner, value: String::from_utf8_lossy(&value).into_owned() });
    };
    KvScan { pairs, failed }
}

/// Undo key/value escapes: `\x` is `x`.
pub(super) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(s: &str) -> DbUrl {
        parse_any(s).unwrap_or_else(|e| panic!("{s}: {}", e.message()))
    }

    fn err(s: &str) -> UrlError {
        match parse_any(s) {
            Ok(u) => panic!("{s} parsed: {u:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_urls() {
        let u = parsed("postgres://me:p%40ss@db.example.com:6543/app?sslmode=require");
        assert_eq!(u.user.as_deref(), Some("me"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert_eq!(u.host, "db.example.com");
        assert_eq!(u.port, Some(6543));
        assert_eq!(u.dbname.as_deref(), Some("app"));
        assert_eq!(u.params, vec![("sslmode".to_string(), "require".to_string())]);
        assert_eq!(DbUrl::parse("host=x user=y"), Ok(None));
        assert!(DbUrl::parse("postgres://u:p@h/db").unwrap().is_some());

        let v6 = parsed("postgresql://[::1]:5433/db");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", Some(5433)));
        let multi = parsed("postgres://u@h1:5432,h2:5433/db");
        assert_eq!((multi.host.as_str(), multi.port), ("h1", Some(5432)));
        let multi = parsed("postgres://h1,[::1]:5433/db");
        assert_eq!((multi.host.as_str(), multi.port), ("h1", None));

        let sock = parsed("postgres://%2Fvar%2Frun%2Fpostgresql/db");
        assert_eq!(sock.host, "/var/run/postgresql");
        let sock = parsed("postgres:///db?host=/var/run/postgresql&port=5433");
        assert_eq!(
            (sock.host.as_str(), sock.port, sock.dbname.as_deref()),
            ("/var/run/postgresql", Some(5433), Some("db"))
        );
        let bare = parsed("postgres://");
        assert_eq!(
            (bare.user, bare.password, bare.host.as_str(), bare.port, bare.dbname),
            (None, None, "", None, None)
        );
        assert_eq!(parsed("postgres:///db?hostaddr=127.0.0.1").host, "127.0.0.1");
        assert_eq!(parsed("postgres://h/db?hostaddr=10.0.0.1").host, "h");

        // libpq reads the user-info to the first `@` before any `/`, so these
        // work unencoded, and we read them the same way.
        assert_eq!(parsed("postgres://u:TOP:SECRET99@host/db").password.as_deref(), Some("TOP:SECRET99"));
        assert_eq!(parsed("postgres://u:a?b#c d@host:5432/db").password.as_deref(), Some("a?b#c d"));
        assert_eq!(parsed("postgres://u:a?b@host").host, "host");

        let p = parsed("postgres://h/db?application_name=a%20b&options=-c%20x%3Dy&ssl=true");
        assert_eq!(
            p.params.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["application_name", "options", "ssl"]
        );
        assert_eq!(p.param("application_name"), Some("a b"));
        assert_eq!(p.param("options"), Some("-c x=y"));
        assert_eq!(p.param("nope"), None);

        let o = parsed("postgres://u:p@h/db?user=v&dbname=e&password=q");
        assert_eq!((o.user.as_deref(), o.dbname.as_deref(), o.password.as_deref()), (Some("v"), Some("e"), Some("q")));
        assert_eq!(parsed("postgres://h:5432/db?user=me@corp").user.as_deref(), Some("me@corp"));
        assert_eq!(parsed("postgres://u:@h/db").password, None);
    }

    #[test]
    fn knows_local_hosts() {
        for s in [
            "postgres://localhost/db",
            "postgres://LocalHost:5432/db",
            "postgres://127.0.0.1:54322/postgres",
            "postgres://127.1.2.3/db",
            "postgres://[::1]/db",
            "postgres://[::ffff:127.0.0.1]/db",
            "postgres:///db",
            "postgres://u@/db",
            "postgres://%2Ftmp/db",
            "postgres:///db?host=/var/run/postgresql",
            "postgres:///db?host=%40abstract",
            "host=/tmp dbname=x",
            "dbname=x",
            "hostaddr=127.0.0.1",
        ] {
            assert!(parsed(s).is_local(), "{s}");
        }
        for s in [
            "postgres://db.example.com/db",
            "postgres://10.0.0.1/db",
            "postgres://127.evil.com/db",
            "postgres://[::2]/db",
            "postgres:///db?hostaddr=10.0.0.1",
            "host=db.example.com",
        ] {
            assert!(!parsed(s).is_local(), "{s}");
        }
    }

    #[test]
    fn parses_key_value_strings() {
        let u = parsed(r"host=localhost port=5432 user=me password='a b\'c' dbname=x");
        assert_eq!(u.host, "localhost");
        assert_eq!(u.port, Some(5432));
        assert_eq!(u.user.as_deref(), Some("me"));
        assert_eq!(u.password.as_deref(), Some("a b'c"));
        assert_eq!(u.dbname.as_deref(), Some("x"));
        assert_eq!(u.params.len(), 5);
        assert_eq!(u.params[3], ("password".to_string(), "a b'c".to_string()));

        let u = parsed("  host = h\tport= 5433  password =secret dbname=x  ");
        assert_eq!((u.host.as_str(), u.port, u.password.as_deref()), ("h", Some(5433), Some("secret")));
        let u = parsed(r"password='back\\slash' user=u\ v");
        assert_eq!((u.password.as_deref(), u.user.as_deref()), (Some(r"back\slash"), Some("u v")));
        let u = parsed("host=h1,h2 port=5432,5433 password='' dbname=''");
        assert_eq!((u.host.as_str(), u.port, u.password, u.dbname), ("h1", Some(5432), None, None));
        // A `://` inside a value does not make it a URL (nor its start a scheme).
        assert_eq!(parsed("host=h password=ab://cd").password.as_deref(), Some("ab://cd"));
        assert_eq!(DbUrl::parse_key_value("user=a").unwrap().user.as_deref(), Some("a"));

        assert_eq!(err("host=h password=a b"), UrlError::BadKeyValue);
        assert_eq!(err("host=h password='abc"), UrlError::BadKeyValue);
        assert_eq!(err("ho-st=h"), UrlError::BadKeyValue);
        assert_eq!(err("host=h port=abc"), UrlError::BadPort);
        assert_eq!(err("host=h port=5432,x"), UrlError::BadPort);
        assert_eq!(err("host='a b'"), UrlError::BadHost);
    }

    #[test]
    fn refuses_what_libpq_would_refuse() {
        assert_eq!(err("mysql://u:p@h/db"), UrlError::WrongScheme { scheme: "mysql".into() });
        assert!(err("mysql://u:p@h/db").message().contains("`mysql://`"));
        assert!(err("POSTGRES://h/db").message().contains("lowercase"));
        assert_eq!(err(""), UrlError::Empty);
        assert_eq!(err(" \n"), UrlError::Empty);
        assert_eq!(err("localhost:5432"), UrlError::NotAUrl);
        assert_eq!(err("postgres:/u:p@h/db?sslmode=require"), UrlError::NotAUrl);
        assert_eq!(err("just words"), UrlError::NotAUrl);
        assert_eq!(err(" postgres://h/db"), UrlError::Whitespace);
        assert_eq!(err("postgres://h/db\n"), UrlError::Whitespace);
        for s in ["postgres://h:abc/db", "postgres://h:99999/db", "postgres://h:+5/db", "postgres://h:0/db"] {
            assert_eq!(err(s), UrlError::BadPort, "{s}");
        }
        assert_eq!(err("postgres://h/db?port=x"), UrlError::BadPort);
        for s in ["postgres://[::1/db", "postgres://[]/db", "postgres://[::1]x/db", "postgres://h%20x/db"] {
            assert_eq!(err(s), UrlError::BadHost, "{s}");
        }
        for s in
            ["postgres://h/db?sslmode", "postgres://h/db?a=b=c", "postgres://h/db?a=1&&b=2", "postgres://h/db?a-b=1"]
        {
            assert_eq!(err(s), UrlError::BadParam, "{s}");
        }
        assert!(parse_any("postgres://h/db?a=1&").is_ok());
        for s in ["postgres://u:100%sure@h/db", "postgres://u:p%00@h/db", "postgres://h/d%4"] {
            assert_eq!(err(s), UrlError::BadPercentEncoding, "{s}");
        }
        for s in ["postgres://u:p@ss@h/db", "postgres://u:p/ss@h/db", "postgres://u:12/ss@h/db", "postgres://u:x@h/d@b"]
        {
            assert_eq!(err(s), UrlError::SpecialCharacter, "{s}");
        }
        let e = err("postgres://u:p@ss@h/db");
        assert!(e.message().contains("must be percent-encoded") && e.message().contains("%40"), "{}", e.message());
        assert_eq!(e.to_string(), e.message());
    }

    #[test]
    fn percent_encoding_round_trips() {
        let nasty = "p@ss:w/rd#?%&+ é[]=;'\"";
        let enc = percent_encode(nasty);
        assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"%-._~".contains(&b)), "{enc}");
        assert_eq!(percent_decode(&enc), nasty);
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%41%c3%A9"), "Aé");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn adds_params_once() {
        let app = "cargo-migrate run (me@box pid 1)";
        let both = [("connect_timeout", "5"), ("application_name", app)];
        let s = with_params("postgres://h/db", &both);
        assert_eq!(
            s,
            "postgres://h/db?connect_timeout=5&application_name=cargo-migrate%20run%20%28me%40box%20pid%201%29"
        );
        assert_eq!(parsed(&s).param("application_name"), Some(app));
        let s = with_params("postgres://h/db?connect_timeout=1", &both);
        assert_eq!(s.matches("connect_timeout").count(), 1);
        assert!(s.starts_with("postgres://h/db?connect_timeout=1&application_name="), "{s}");
        assert_eq!(with_params("postgres://h/db?", &both[..1]), "postgres://h/db?connect_timeout=5");
        assert_eq!(with_params("postgres://h/db?a=1&", &both[..1]), "postgres://h/db?a=1&connect_timeout=5");
        // A `?` or the key's name in the password is not the query.
        let s = with_params("postgres://u:a?connect_timeout=9@h/db", &both[..1]);
        assert_eq!(s, "postgres://u:a?connect_timeout=9@h/db?connect_timeout=5");
        assert_eq!(parsed(&s).password.as_deref(), Some("a?connect_timeout=9"));
        assert_eq!(with_params("postgres://h/db ", &both[..1]), "postgres://h/db?connect_timeout=5 ");

        let s = with_params("host=h", &[("connect_timeout", "5"), ("application_name", "it's a \\ test")]);
        assert_eq!(s, r"host=h connect_timeout='5' application_name='it\'s a \\ test'");
        assert_eq!(parsed(&s).param("application_name"), Some("it's a \\ test"));
        assert_eq!(with_params("host=h connect_timeout=1", &both[..1]), "host=h connect_timeout=1");
        let s = with_params(r"password=abc\", &both[..1]);
        let u = parsed(&s);
        assert_eq!((u.password.as_deref(), u.param("connect_timeout")), (Some("abc"), Some("5")), "{s}");
        assert_eq!(with_params("", &both[..1]), "connect_timeout='5'");
        assert_eq!(with_params("host=h", &[("a", "1"), ("a", "2")]), "host=h a='1'");
    }

    #[test]
    fn names_the_target_without_the_password() {
        assert_eq!(parsed("postgres://me:pw@h:6543/app").target(), "me@h:6543/app");
        assert_eq!(parsed("postgres://").target(), "(default user)@localhost:5432/(default database)");
        assert_eq!(parsed("postgres://[::1]:5433/db").target(), "(default user)@[::1]:5433/db");
        assert_eq!(parsed("host=/tmp user=u password=pw").target(), "u@/tmp:5432/(default database)");
        let debug = format!("{:?}", parsed("postgres://u:Xq7Zk9@h/db?password=Zk9Xq7"));
        assert!(!debug.contains("Xq7") && debug.contains("****"), "{debug}");
    }
}
