//! A MessagePack writer that will write anything, including headers whose counts lie, and a
//! generator of protocol-shaped values: maps with a `type` the decoder knows and field names it
//! knows, holding values of any type, so generated frames get past the first checks often.

use arbitrary::{Result, Unstructured};

#[derive(Default)]
pub struct Writer {
    pub out: Vec<u8>,
}

impl Writer {
    pub fn nil(&mut self) {
        self.out.push(0xc0);
    }

    pub fn bool(&mut self, b: bool) {
        self.out.push(if b { 0xc3 } else { 0xc2 });
    }

    pub fn uint(&mut self, n: u64) {
        match n {
            0..=0x7f => self.out.push(n as u8),
            0x80..=0xff => self.out.extend([0xcc, n as u8]),
            0x100..=0xffff => self.head(0xcd, n, 2),
            0x1_0000..=0xffff_ffff => self.head(0xce, n, 4),
            _ => self.head(0xcf, n, 8),
        }
    }

    pub fn int(&mut self, n: i64) {
        match n {
            0.. => self.uint(n as u64),
            -32..0 => self.out.push(n as u8),
            _ => {
                self.out.push(0xd3);
                self.out.extend(n.to_be_bytes());
            }
        }
    }

    pub fn f64(&mut self, f: f64) {
        self.out.push(0xcb);
        self.out.extend(f.to_be_bytes());
    }

    pub fn str(&mut self, s: &str) {
        self.str_header(s.len() as u64);
        self.out.extend(s.as_bytes());
    }

    /// A string header; with a `len` longer than what follows, a lie.
    pub fn str_header(&mut self, len: u64) {
        match len {
            0..=31 => self.out.push(0xa0 | len as u8),
            32..=0xff => self.head(0xd9, len, 1),
            0x100..=0xffff => self.head(0xda, len, 2),
            _ => self.head(0xdb, len, 4),
        }
    }

    pub fn bin(&mut self, b: &[u8]) {
        match b.len() {
            0..=0xff => self.head(0xc4, b.len() as u64, 1),
            0x100..=0xffff => self.head(0xc5, b.len() as u64, 2),
            _ => self.head(0xc6, b.len() as u64, 4),
        }
        self.out.extend(b);
    }

    pub fn array(&mut self, len: u64) {
        match len {
            0..=15 => self.out.push(0x90 | len as u8),
            16..=0xffff => self.head(0xdc, len, 2),
            _ => self.head(0xdd, len, 4),
        }
    }

    pub fn map(&mut self, len: u64) {
        match len {
            0..=15 => self.out.push(0x80 | len as u8),
            16..=0xffff => self.head(0xde, len, 2),
            _ => self.head(0xdf, len, 4),
        }
    }

    fn head(&mut self, marker: u8, n: u64, width: usize) {
        self.out.push(marker);
        self.out.extend(&n.to_be_bytes()[8 - width..]);
    }
}

/// What a generator draws names from: the message types and field names of one protocol.
pub struct Vocabulary {
    pub types: &'static [&'static str],
    pub fields: &'static [&'static str],
    /// Strings that mean something as values (enum variants, tools, kinds).
    pub words: &'static [&'static str],
}

/// One message: a map whose `type` is usually one the decoder knows.
pub fn message(u: &mut Unstructured, w: &mut Writer, v: &Vocabulary) -> Result<()> {
    let fields = u.int_in_range(0..=8)?;
    let typed = u.ratio(15, 16)?;
    w.map(fields + u64::from(typed));
    if typed {
        w.str("type");
        if u.ratio(15, 16)? {
            w.str(u.choose(v.types)?);
        } else {
            value(u, w, v, 3)?;
        }
    }
    for _ in 0..fields {
        key(u, w, v)?;
        value(u, w, v, 0)?;
    }
    Ok(())
}

fn key(u: &mut Unstructured, w: &mut Writer, v: &Vocabulary) -> Result<()> {
    if u.ratio(7, 8)? {
        w.str(u.choose(v.fields)?);
    } else {
        w.str(u.arbitrary::<&str>()?);
    }
    Ok(())
}

/// Any value, nested at most a few levels; `depth` is how deep this one already is.
pub fn value(u: &mut Unstructured, w: &mut Writer, v: &Vocabulary, depth: u32) -> Result<()> {
    let nested = depth < 5;
    match u.int_in_range(0..=13)? {
        0 => w.nil(),
        1 => w.bool(u.arbitrary()?),
        2 => w.uint(u.arbitrary::<u8>()?.into()),
        3 => w.uint(u.arbitrary()?),
        4 => w.int(u.arbitrary()?),
        5 => w.f64(u.arbitrary()?),
        6 => w.str(u.choose(v.words)?),
        7 => w.str(u.arbitrary::<&str>()?),
        8 => w.bin(u.arbitrary::<&[u8]>()?),
        9 | 10 if nested => {
            let len = u.int_in_range(0..=6)?;
            w.array(len);
            for _ in 0..len {
                value(u, w, v, depth + 1)?;
            }
        }
        11 | 12 if nested => {
            let len = u.int_in_range(0..=6)?;
            w.map(len);
            for _ in 0..len {
                key(u, w, v)?;
                value(u, w, v, depth + 1)?;
            }
        }
        // Many small elements: what buffering decoders pay per element, not per byte.
        13 => {
            let len = u.int_in_range(0..=20_000)?;
            w.array(len);
            w.out.extend(std::iter::repeat_n(0xc0, len as usize));
        }
        _ => w.nil(),
    }
    Ok(())
}
