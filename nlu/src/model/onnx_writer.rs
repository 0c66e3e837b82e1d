//! A minimal writer of ONNX models (protobuf wire format), enough for the classifier head.
//!
//! The head is a small graph of standard operators over float32 and int64 tensors; writing
//! the few protobuf messages it needs by hand avoids a protobuf code generator in the build.
//! Field numbers follow `onnx.proto` (IR version 8, opset 17).

/// ONNX tensor element types used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Float = 1,
    Uint8 = 2,
    Int64 = 7,
}

/// A tensor initializer with its data.
#[derive(Debug, Clone)]
pub struct Tensor {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: TensorData,
}

/// Tensor contents.
#[derive(Debug, Clone)]
pub enum TensorData {
    Float(Vec<f32>),
    Uint8(Vec<u8>),
    Int64(Vec<i64>),
}

impl Tensor {
    /// A float32 tensor.
    pub fn float(name: &str, dims: &[i64], data: Vec<f32>) -> Self {
        Tensor {
            name: name.to_string(),
            dims: dims.to_vec(),
            data: TensorData::Float(data),
        }
    }

    /// A uint8 tensor (masks: one byte per entry).
    pub fn uint8(name: &str, dims: &[i64], data: Vec<u8>) -> Self {
        Tensor {
            name: name.to_string(),
            dims: dims.to_vec(),
            data: TensorData::Uint8(data),
        }
    }

    /// An int64 tensor.
    pub fn int64(name: &str, dims: &[i64], data: Vec<i64>) -> Self {
        Tensor {
            name: name.to_string(),
            dims: dims.to_vec(),
            data: TensorData::Int64(data),
        }
    }
}

/// A node attribute.
#[derive(Debug, Clone)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
}

/// A graph node.
#[derive(Debug, Clone)]
pub struct Node {
    pub op: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Vec<(String, Attr)>,
}

/// A dimension of a graph input or output: fixed or symbolic.
#[derive(Debug, Clone)]
pub enum Dim {
    Fixed(i64),
    Symbolic(&'static str),
}

/// A typed graph input or output.
#[derive(Debug, Clone)]
pub struct ValueInfo {
    pub name: String,
    pub elem: DataType,
    pub dims: Vec<Dim>,
}

/// A whole model: one graph with its initializers.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    pub initializers: Vec<Tensor>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    /// Key/value metadata stored in the model (`metadata_props`).
    pub metadata: Vec<(String, String)>,
}

impl Graph {
    /// Adds a node whose single output is named `out`.
    pub fn node(&mut self, op: &str, inputs: &[&str], out: &str, attrs: Vec<(&str, Attr)>) {
        self.nodes.push(Node {
            op: op.to_string(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![out.to_string()],
            attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        });
    }

    /// Serializes the model as ONNX protobuf bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut graph = Vec::new();
        for n in &self.nodes {
            put_msg(&mut graph, 1, &node_bytes(n));
        }
        put_str(&mut graph, 2, &self.name);
        for t in &self.initializers {
            put_msg(&mut graph, 5, &tensor_bytes(t));
        }
        for v in &self.inputs {
            put_msg(&mut graph, 11, &value_info_bytes(v));
        }
        for v in &self.outputs {
            put_msg(&mut graph, 12, &value_info_bytes(v));
        }
        let mut model = Vec::new();
        put_varint_field(&mut model, 1, 8); // ir_version
        put_str(&mut model, 2, "nlu");
        put_str(&mut model, 3, env!("CARGO_PKG_VERSION"));
        put_msg(&mut model, 7, &graph);
        let mut opset = Vec::new();
        put_str(&mut opset, 1, "");
        put_varint_field(&mut opset, 2, 17);
        put_msg(&mut model, 8, &opset);
        for (k, v) in &self.metadata {
            let mut kv = Vec::new();
            put_str(&mut kv, 1, k);
            put_str(&mut kv, 2, v);
            put_msg(&mut model, 14, &kv);
        }
        model
    }
}

fn node_bytes(n: &Node) -> Vec<u8> {
    let mut b = Vec::new();
    for i in &n.inputs {
        put_str(&mut b, 1, i);
    }
    for o in &n.outputs {
        put_str(&mut b, 2, o);
    }
    put_str(&mut b, 3, &n.outputs[0]);
    put_str(&mut b, 4, &n.op);
    for (name, attr) in &n.attrs {
        let mut a = Vec::new();
        put_str(&mut a, 1, name);
        match attr {
            Attr::Float(f) => {
                put_key(&mut a, 2, 5);
                a.extend_from_slice(&f.to_le_bytes());
                put_varint_field(&mut a, 20, 1);
            }
            Attr::Int(i) => {
                put_varint_field(&mut a, 3, *i as u64);
                put_varint_field(&mut a, 20, 2);
            }
            Attr::Ints(v) => {
                for i in v {
                    put_varint_field(&mut a, 8, *i as u64);
                }
                put_varint_field(&mut a, 20, 7);
            }
        }
        put_msg(&mut b, 5, &a);
    }
    b
}

fn tensor_bytes(t: &Tensor) -> Vec<u8> {
    let mut b = Vec::new();
    for d in &t.dims {
        put_varint_field(&mut b, 1, *d as u64);
    }
    let (dtype, raw): (DataType, Vec<u8>) = match &t.data {
        TensorData::Float(v) => (
            DataType::Float,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        TensorData::Uint8(v) => (DataType::Uint8, v.clone()),
        TensorData::Int64(v) => (
            DataType::Int64,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
    };
    put_varint_field(&mut b, 2, dtype as u64);
    put_str(&mut b, 8, &t.name);
    put_bytes(&mut b, 9, &raw);
    b
}

fn value_info_bytes(v: &ValueInfo) -> Vec<u8> {
    let mut shape = Vec::new();
    for d in &v.dims {
        let mut dim = Vec::new();
        match d {
            Dim::Fixed(n) => put_varint_field(&mut dim, 1, *n as u64),
            Dim::Symbolic(s) => put_str(&mut dim, 2, s),
        }
        put_msg(&mut shape, 1, &dim);
    }
    let mut tensor_type = Vec::new();
    put_varint_field(&mut tensor_type, 1, v.elem as u64);
    put_msg(&mut tensor_type, 2, &shape);
    let mut type_proto = Vec::new();
    put_msg(&mut type_proto, 1, &tensor_type);
    let mut b = Vec::new();
    put_str(&mut b, 1, &v.name);
    put_msg(&mut b, 2, &type_proto);
    b
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_key(buf: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(buf, (u64::from(field) << 3) | u64::from(wire));
}

fn put_varint_field(buf: &mut Vec<u8>, field: u32, v: u64) {
    put_key(buf, field, 0);
    put_varint(buf, v);
}

fn put_bytes(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_key(buf, field, 2);
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

fn put_str(buf: &mut Vec<u8>, field: u32, s: &str) {
    put_bytes(buf, field, s.as_bytes());
}

fn put_msg(buf: &mut Vec<u8>, field: u32, msg: &[u8]) {
    put_bytes(buf, field, msg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_protobuf_encoding() {
        let mut b = Vec::new();
        put_varint(&mut b, 300);
        assert_eq!(b, [0xAC, 0x02]);
        let mut b = Vec::new();
        put_varint_field(&mut b, 1, u64::MAX);
        assert_eq!(b.len(), 11);
        // negative int64 values are written as 10-byte two's complement varints
        let mut b = Vec::new();
        put_varint(&mut b, (-1i64) as u64);
        assert_eq!(b.len(), 10);
    }

    #[test]
    fn model_starts_with_ir_version() {
        let g = Graph {
            name: "g".into(),
            ..Default::default()
        };
        let bytes = g.to_bytes();
        assert_eq!(&bytes[..2], &[0x08, 0x08]);
    }
}
