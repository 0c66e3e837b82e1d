//! Large initializers read once and shared by every session of a pool.
//!
//! ONNX Runtime gives each session its own copy of a model's weights. For the encoder the
//! largest by far is the int8 token-embedding table (127,259 × 384 bytes, 47 MB of the 71 MB
//! file), which no kernel repacks, so a second session for a second thread would duplicate
//! it. Here the model file is streamed once: tensors whose data reaches a size threshold are
//! cut out of the protobuf and kept in one buffer each, and the rest of the model (the graph
//! and the smaller weights) goes to ONNX Runtime from memory with those tensors marked as
//! external data, supplied by the pool as the same `ort` values for every session.
//!
//! Only the protobuf fields on the path to an initializer's `raw_data` are parsed
//! (`ModelProto.graph`, `GraphProto.initializer`, `TensorProto`); everything else is copied
//! byte for byte. Field numbers follow `onnx.proto`.

use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;

/// Wire types of the protobuf encoding.
pub(super) const VARINT: u64 = 0;
pub(super) const FIXED64: u64 = 1;
pub(super) const LEN: u64 = 2;
pub(super) const FIXED32: u64 = 5;

const MODEL_GRAPH: u64 = 7;
const GRAPH_INITIALIZER: u64 = 5;
const TENSOR_DIMS: u64 = 1;
const TENSOR_DATA_TYPE: u64 = 2;
const TENSOR_NAME: u64 = 8;
const TENSOR_RAW_DATA: u64 = 9;
const TENSOR_EXTERNAL_DATA: u64 = 13;
const TENSOR_DATA_LOCATION: u64 = 14;
const DATA_LOCATION_EXTERNAL: u64 = 1;

/// ONNX element types whose data can be handed over as raw bytes.
pub const ONNX_FLOAT: i32 = 1;
pub const ONNX_UINT8: i32 = 2;
pub const ONNX_INT8: i32 = 3;

/// An initializer taken out of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct LargeTensor {
    pub name: String,
    /// ONNX `TensorProto.DataType`.
    pub data_type: i32,
    pub dims: Vec<i64>,
    /// Where the data starts in the file, and its length in bytes.
    pub offset: u64,
    pub len: u64,
    /// The raw little-endian data; `None` when the split was asked to skip it.
    pub data: Option<Vec<u8>>,
}

/// A model with its large initializers cut out.
#[derive(Debug)]
pub struct SplitModel {
    /// Serialized `ModelProto`; the cut-out tensors are marked as external data.
    bytes: Vec<u8>,
    /// Where the model starts in `bytes` (room left in front for the graph's header).
    start: usize,
    pub tensors: Vec<LargeTensor>,
}

impl SplitModel {
    /// The serialized model, to pass to ONNX Runtime.
    pub fn model(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

fn invalid(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into())
}

/// A reader that counts the bytes it consumed.
struct Input<R> {
    inner: R,
    pos: u64,
}

impl<R: BufRead + Seek> Input<R> {
    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        let buf = self.inner.fill_buf()?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.inner.consume(1);
        self.pos += 1;
        Ok(Some(b))
    }

    fn varint(&mut self) -> std::io::Result<u64> {
        self.varint_or_end()?
            .ok_or_else(|| invalid("truncated protobuf varint"))
    }

    /// A varint, or `None` at the end of the input before its first byte.
    fn varint_or_end(&mut self) -> std::io::Result<Option<u64>> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(b) = self.byte()? else {
                return if shift == 0 {
                    Ok(None)
                } else {
                    Err(invalid("truncated protobuf varint"))
                };
            };
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(Some(value));
            }
        }
        Err(invalid("protobuf varint too long"))
    }

    fn bytes(&mut self, n: u64, out: &mut Vec<u8>) -> std::io::Result<()> {
        let before = out.len();
        (&mut self.inner).take(n).read_to_end(out)?;
        if (out.len() - before) as u64 != n {
            return Err(invalid("truncated protobuf field"));
        }
        self.pos += n;
        Ok(())
    }

    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        let n = i64::try_from(n).map_err(|_| invalid("protobuf field too long"))?;
        self.inner.seek_relative(n)?;
        self.pos += n as u64;
        Ok(())
    }

    /// Copies the value of a field whose key was just read, re-encoding the key, to `out`.
    fn copy_field(&mut self, key: u64, out: &mut Vec<u8>) -> std::io::Result<()> {
        put_varint(out, key);
        match key & 7 {
            VARINT => {
                let v = self.varint()?;
                put_varint(out, v);
            }
            FIXED64 => self.bytes(8, out)?,
            FIXED32 => self.bytes(4, out)?,
            LEN => {
                let n = self.varint()?;
                put_varint(out, n);
                self.bytes(n, out)?;
            }
            w => return Err(invalid(format!("unsupported protobuf wire type {w}"))),
        }
        Ok(())
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_len_field(out: &mut Vec<u8>, field: u64, data: &[u8]) {
    put_varint(out, field << 3 | LEN);
    put_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// Decodes a varint from a slice.
pub(super) fn slice_varint(b: &[u8], i: &mut usize) -> std::io::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b
            .get(*i)
            .ok_or_else(|| invalid("truncated protobuf varint"))?;
        *i += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(invalid("protobuf varint too long"))
}

/// Streams the model at `path`, cutting out the data of every initializer of a type in
/// [`ONNX_FLOAT`], [`ONNX_UINT8`], [`ONNX_INT8`] with at least `min_bytes` of `raw_data`.
/// With `read_data` false the cut-out data is skipped, not read (for a pool's later
/// sessions, which reuse the first split's tensors).
pub fn split(path: &Path, min_bytes: usize, read_data: bool) -> std::io::Result<SplitModel> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut input = Input {
        inner: BufReader::with_capacity(1 << 16, file),
        pos: 0,
    };
    // the graph goes first, its key and length written into the room left in front of it
    const ROOM: usize = 11;
    let mut graph = vec![0u8; ROOM];
    let mut rest = Vec::new();
    let mut tensors = Vec::new();
    let mut seen_graph = false;
    while let Some(key) = input.varint_or_end()? {
        if key >> 3 == MODEL_GRAPH && key & 7 == LEN && !seen_graph {
            seen_graph = true;
            let n = input.varint()?;
            let end = input.pos + n;
            if end > len {
                return Err(invalid("truncated graph"));
            }
            // relative to the model's folder (which ONNX Runtime must be told when it loads
            // the model from memory: `session.model_external_initializers_file_folder_path`)
            let location = path
                .file_name()
                .map(|n| n.to_string_lossy())
                .ok_or_else(|| invalid("no file name"))?;
            let cut = Cut {
                min_bytes,
                read_data,
                location: &location,
            };
            split_graph(&mut input, end, &cut, &mut graph, &mut tensors)?;
        } else {
            input.copy_field(key, &mut rest)?;
        }
    }
    if !seen_graph {
        return Err(invalid("not an ONNX model (no graph)"));
    }
    let graph_len = (graph.len() - ROOM) as u64;
    let key = MODEL_GRAPH << 3 | LEN;
    let header = varint_len(key) + varint_len(graph_len);
    let start = ROOM - header;
    let mut head = Vec::with_capacity(header);
    put_varint(&mut head, key);
    put_varint(&mut head, graph_len);
    graph[start..ROOM].copy_from_slice(&head);
    graph.extend_from_slice(&rest);
    Ok(SplitModel {
        bytes: graph,
        start,
        tensors,
    })
}

/// What to cut out of a graph.
struct Cut<'a> {
    min_bytes: usize,
    read_data: bool,
    /// The model file, named as the cut-out tensors' external data location.
    location: &'a str,
}

fn split_graph<R: BufRead + Seek>(
    input: &mut Input<R>,
    end: u64,
    cut: &Cut<'_>,
    out: &mut Vec<u8>,
    tensors: &mut Vec<LargeTensor>,
) -> std::io::Result<()> {
    while input.pos < end {
        let key = input.varint()?;
        if key >> 3 != GRAPH_INITIALIZER || key & 7 != LEN {
            input.copy_field(key, out)?;
            continue;
        }
        let n = input.varint()?;
        let t_end = input.pos + n;
        if t_end > end {
            return Err(invalid("truncated initializer"));
        }
        // the tensor's fields up to raw_data are small: read them, then decide
        let mut head = Vec::new();
        let mut raw: Option<u64> = None;
        while input.pos < t_end {
            let k = input.varint()?;
            if k >> 3 == TENSOR_RAW_DATA && k & 7 == LEN {
                raw = Some(input.varint()?);
                break;
            }
            input.copy_field(k, &mut head)?;
        }
        let (name, data_type, dims) = tensor_meta(&head)?;
        let large = raw.is_some_and(|r| r >= cut.min_bytes as u64)
            && matches!(data_type, ONNX_FLOAT | ONNX_UINT8 | ONNX_INT8);
        let mut tensor = head;
        match raw {
            Some(r) if large => {
                let offset = input.pos;
                let data = if cut.read_data {
                    let mut d = Vec::with_capacity(r as usize);
                    input.bytes(r, &mut d)?;
                    Some(d)
                } else {
                    input.skip(r)?;
                    None
                };
                // the fields after raw_data, if any
                while input.pos < t_end {
                    let k = input.varint()?;
                    input.copy_field(k, &mut tensor)?;
                }
                for (k, v) in [
                    ("location", cut.location.to_string()),
                    ("offset", offset.to_string()),
                    ("length", r.to_string()),
                ] {
                    let mut entry = Vec::new();
                    put_len_field(&mut entry, 1, k.as_bytes());
                    put_len_field(&mut entry, 2, v.as_bytes());
                    put_len_field(&mut tensor, TENSOR_EXTERNAL_DATA, &entry);
                }
                put_varint(&mut tensor, TENSOR_DATA_LOCATION << 3 | VARINT);
                put_varint(&mut tensor, DATA_LOCATION_EXTERNAL);
                tensors.push(LargeTensor {
                    name,
                    data_type,
                    dims,
                    offset,
                    len: r,
                    data,
                });
            }
            Some(r) => {
                put_varint(&mut tensor, TENSOR_RAW_DATA << 3 | LEN);
                put_varint(&mut tensor, r);
                input.bytes(r, &mut tensor)?;
                while input.pos < t_end {
                    let k = input.varint()?;
                    input.copy_field(k, &mut tensor)?;
                }
            }
            None => {}
        }
        if input.pos != t_end {
            return Err(invalid("malformed initializer"));
        }
        put_len_field(out, GRAPH_INITIALIZER, &tensor);
    }
    if input.pos != end {
        return Err(invalid("malformed graph"));
    }
    Ok(())
}

/// Name, element type and dimensions from a `TensorProto`'s fields.
fn tensor_meta(b: &[u8]) -> std::io::Result<(String, i32, Vec<i64>)> {
    let (mut name, mut data_type, mut dims) = (String::new(), 0i32, Vec::new());
    let mut i = 0;
    while i < b.len() {
        let key = slice_varint(b, &mut i)?;
        match (key >> 3, key & 7) {
            (TENSOR_DIMS, VARINT) => dims.push(slice_varint(b, &mut i)? as i64),
            (TENSOR_DIMS, LEN) => {
                let n = slice_varint(b, &mut i)? as usize;
                let end = i + n;
                while i < end {
                    dims.push(slice_varint(b, &mut i)? as i64);
                }
            }
            (TENSOR_DATA_TYPE, VARINT) => data_type = slice_varint(b, &mut i)? as i32,
            (_, VARINT) => {
                slice_varint(b, &mut i)?;
            }
            (_, FIXED64) => i += 8,
            (_, FIXED32) => i += 4,
            (field, LEN) => {
                let n = slice_varint(b, &mut i)? as usize;
                let v = b.get(i..i + n).ok_or_else(|| invalid("truncated tensor"))?;
                if field == TENSOR_NAME {
                    name = String::from_utf8_lossy(v).into_owned();
                }
                i += n;
            }
            (_, w) => return Err(invalid(format!("unsupported protobuf wire type {w}"))),
        }
    }
    Ok((name, data_type, dims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::onnx_writer::{Graph, Tensor};

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v));
            let mut i = 0;
            assert_eq!(slice_varint(&b, &mut i).unwrap(), v);
        }
    }

    #[test]
    fn cuts_out_large_float_tensors_only() {
        let g = Graph {
            name: "g".into(),
            initializers: vec![
                Tensor::float("big", &[2, 300], (0..600).map(|i| i as f32).collect()),
                Tensor::float("small", &[3], vec![1.0, 2.0, 3.0]),
                Tensor::int64("ints", &[300], (0..300).collect()),
            ],
            ..Default::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        std::fs::write(&path, g.to_bytes()).unwrap();
        let s = split(&path, 1000, true).unwrap();
        assert_eq!(s.tensors.len(), 1);
        let t = &s.tensors[0];
        assert_eq!(
            (t.name.as_str(), t.data_type, &t.dims[..]),
            ("big", ONNX_FLOAT, &[2i64, 300][..])
        );
        let data = t.data.as_ref().unwrap();
        assert_eq!(data.len(), 2400);
        assert_eq!(&data[4..8], &1f32.to_le_bytes());
        // the rest is intact and much smaller
        let whole = std::fs::metadata(&path).unwrap().len() as usize;
        assert!(
            s.model().len() < whole - 2000,
            "{} of {whole}",
            s.model().len()
        );
        let again = split(&path, 1000, false).unwrap();
        assert_eq!(again.model(), s.model());
        assert!(again.tensors[0].data.is_none());
        // a threshold above every tensor changes nothing
        let none = split(&path, 1 << 20, true).unwrap();
        assert!(none.tensors.is_empty());
        assert_eq!(none.model().len(), whole);
    }

    #[test]
    fn rejects_what_is_not_a_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.onnx");
        std::fs::write(&path, b"this is not a protobuf").unwrap();
        assert!(split(&path, 1000, true).is_err());
        std::fs::write(&path, b"").unwrap();
        assert!(split(&path, 1000, true).is_err());
    }
}
