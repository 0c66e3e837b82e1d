//! The encoder cut in two after one of its layers, for the cascade's early exit.
//!
//! The early segment maps the token ids to the hidden states after layer `k`; the late one
//! continues from those states to the sentence embedding and the token states. Run one after
//! the other they compute exactly what the whole graph computes (the same nodes on the same
//! values), so a text that the early head cannot answer costs no second start: the late
//! segment picks up where the early one stopped.
//!
//! The cut is made on the serialized model when it is loaded, at the protobuf level as in
//! [`super::shared_weights`]: each segment keeps the nodes that its outputs need (found
//! backwards from them), the initializers and graph inputs those nodes read, and the graph's
//! other fields; the nodes, initializers and model fields are copied byte for byte. No second
//! model file is stored, and any layer can be chosen. Field numbers follow `onnx.proto`.
//!
//! Layer `k` of a BERT-style encoder ends with its second `LayerNormalization` (after the
//! feed-forward block); the embeddings' own normalization comes first, so the cut tensor is
//! the output of the `(2k + 1)`-th `LayerNormalization` node in graph order.

use super::shared_weights::{slice_varint, FIXED32, FIXED64, LEN, VARINT};
use std::collections::{HashMap, HashSet};
use std::io;

const MODEL_GRAPH: u64 = 7;
const GRAPH_NODE: u64 = 1;
const GRAPH_INITIALIZER: u64 = 5;
const GRAPH_INPUT: u64 = 11;
const GRAPH_OUTPUT: u64 = 12;
const GRAPH_VALUE_INFO: u64 = 13;
const GRAPH_QUANTIZATION_ANNOTATION: u64 = 14;
const GRAPH_SPARSE_INITIALIZER: u64 = 15;
const NODE_INPUT: u64 = 1;
const NODE_OUTPUT: u64 = 2;
const NODE_OP_TYPE: u64 = 4;
const NODE_ATTRIBUTE: u64 = 5;
const ATTRIBUTE_GRAPH: u64 = 6;
const ATTRIBUTE_GRAPHS: u64 = 11;
const TENSOR_NAME: u64 = 8;
const VALUE_INFO_NAME: u64 = 1;

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// One field of a protobuf message.
struct Field<'a> {
    number: u64,
    wire: u64,
    /// The payload of a length-delimited field.
    data: &'a [u8],
    /// The value of a varint field.
    value: u64,
    /// The whole field, key included, for copying it unchanged.
    raw: &'a [u8],
}

/// The fields of a message, in order.
fn fields(b: &[u8]) -> io::Result<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let key = slice_varint(b, &mut i)?;
        let (number, wire) = (key >> 3, key & 7);
        let mut data: &[u8] = &[];
        let mut value = 0;
        match wire {
            VARINT => value = slice_varint(b, &mut i)?,
            FIXED64 => i += 8,
            FIXED32 => i += 4,
            LEN => {
                let n = usize::try_from(slice_varint(b, &mut i)?)
                    .map_err(|_| invalid("protobuf field too long"))?;
                let end = i
                    .checked_add(n)
                    .filter(|&e| e <= b.len())
                    .ok_or_else(|| invalid("truncated protobuf field"))?;
                data = &b[i..end];
                i = end;
            }
            w => return Err(invalid(format!("unsupported protobuf wire type {w}"))),
        }
        if i > b.len() {
            return Err(invalid("truncated protobuf field"));
        }
        out.push(Field {
            number,
            wire,
            data,
            value,
            raw: &b[start..i],
        });
    }
    Ok(out)
}

/// The string of field `number` of a message (the first one), or "".
fn string_field(msg: &[u8], number: u64) -> io::Result<String> {
    Ok(fields(msg)?
        .into_iter()
        .find(|f| f.number == number && f.wire == LEN)
        .map(|f| String::from_utf8_lossy(f.data).into_owned())
        .unwrap_or_default())
}

/// What a segment needs to know of a node.
struct NodeInfo<'a> {
    raw: &'a [u8],
    op: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

fn node_info<'a>(field: &Field<'a>) -> io::Result<NodeInfo<'a>> {
    let mut node = NodeInfo {
        raw: field.raw,
        op: String::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    for f in fields(field.data)? {
        let text = || String::from_utf8_lossy(f.data).into_owned();
        match (f.number, f.wire) {
            (NODE_INPUT, LEN) => node.inputs.push(text()),
            (NODE_OUTPUT, LEN) => node.outputs.push(text()),
            (NODE_OP_TYPE, LEN) => node.op = text(),
            // a subgraph may read any tensor of the outer scope: not followed here
            (NODE_ATTRIBUTE, LEN)
                if fields(f.data)?
                    .iter()
                    .any(|a| matches!(a.number, ATTRIBUTE_GRAPH | ATTRIBUTE_GRAPHS)) =>
            {
                return Err(invalid(format!(
                    "node {} has a subgraph, which a segment cannot follow",
                    node.op
                )));
            }
            _ => {}
        }
    }
    Ok(node)
}

/// A parsed encoder, ready to be cut.
pub struct Graph<'a> {
    /// The model's fields other than the graph, in order.
    model_fields: Vec<&'a [u8]>,
    /// The graph's fields that no segment changes (its name, doc string...).
    graph_fields: Vec<&'a [u8]>,
    nodes: Vec<NodeInfo<'a>>,
    /// Name, whole field and `TensorProto` of each initializer.
    initializers: Vec<(String, &'a [u8], &'a [u8])>,
    inputs: Vec<(String, &'a [u8])>,
    outputs: Vec<(String, &'a [u8])>,
    value_info: Vec<(String, &'a [u8])>,
}

/// One segment: a serialized model and the names it reads and gives.
#[derive(Debug, Clone)]
pub struct Segment {
    pub bytes: Vec<u8>,
    /// Graph inputs, in order.
    pub inputs: Vec<String>,
    /// Graph outputs, in order.
    pub outputs: Vec<String>,
    /// The initializers it holds.
    pub initializers: Vec<String>,
}

/// An encoder cut after one layer.
#[derive(Debug, Clone)]
pub struct Cut {
    /// The tensor between the segments: the hidden states after the layer.
    pub hidden: String,
    /// Token ids (and mask) to the hidden states.
    pub early: Segment,
    /// Hidden states (and mask) to the whole graph's outputs.
    pub late: Segment,
}

impl<'a> Graph<'a> {
    /// Parses a serialized `ModelProto` (the nodes' attributes and the tensors' data are not
    /// decoded).
    pub fn parse(model: &'a [u8]) -> io::Result<Self> {
        let mut model_fields = Vec::new();
        let mut graph = None;
        for f in fields(model)? {
            if f.number == MODEL_GRAPH && f.wire == LEN && graph.is_none() {
                graph = Some(f.data);
            } else {
                model_fields.push(f.raw);
            }
        }
        let graph = graph.ok_or_else(|| invalid("not an ONNX model (no graph)"))?;
        let mut g = Graph {
            model_fields,
            graph_fields: Vec::new(),
            nodes: Vec::new(),
            initializers: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            value_info: Vec::new(),
        };
        for f in fields(graph)? {
            match (f.number, f.wire) {
                (GRAPH_NODE, LEN) => g.nodes.push(node_info(&f)?),
                (GRAPH_INITIALIZER, LEN) => {
                    g.initializers
                        .push((string_field(f.data, TENSOR_NAME)?, f.raw, f.data))
                }
                (GRAPH_INPUT, LEN) => g
                    .inputs
                    .push((string_field(f.data, VALUE_INFO_NAME)?, f.raw)),
                (GRAPH_OUTPUT, LEN) => g
                    .outputs
                    .push((string_field(f.data, VALUE_INFO_NAME)?, f.raw)),
                (GRAPH_VALUE_INFO, LEN) => g
                    .value_info
                    .push((string_field(f.data, VALUE_INFO_NAME)?, f.raw)),
                // annotations of tensors that a segment may not hold: dropped
                (GRAPH_QUANTIZATION_ANNOTATION, _) => {}
                (GRAPH_SPARSE_INITIALIZER, _) => {
                    return Err(invalid("sparse initializers are not supported"))
                }
                _ => g.graph_fields.push(f.raw),
            }
        }
        Ok(g)
    }

    /// The name of the hidden states after layer `layer` (1-based): the output of the
    /// `(2 × layer + 1)`-th `LayerNormalization` node.
    pub fn layer_output(&self, layer: usize) -> io::Result<String> {
        let norms: Vec<&NodeInfo<'_>> = self
            .nodes
            .iter()
            .filter(|n| n.op == "LayerNormalization")
            .collect();
        let layers = norms.len().saturating_sub(1) / 2;
        if layer == 0 || layer >= layers {
            return Err(invalid(format!(
                "cannot cut after layer {layer}: the encoder has {layers} layers (a cut must \
                 leave at least one on each side)"
            )));
        }
        norms[2 * layer]
            .outputs
            .first()
            .cloned()
            .ok_or_else(|| invalid("a LayerNormalization node has no output"))
    }

    /// The shape of the hidden states: the first input's first two dimensions (batch and
    /// tokens), then the size of the first `LayerNormalization`'s scale.
    fn hidden_dims(&self) -> io::Result<Vec<Dimension>> {
        let mut dims = match self.inputs.first() {
            Some((_, raw)) => {
                let f = fields(raw)?;
                let msg = f.first().map(|f| f.data).unwrap_or_default();
                value_info_dims(msg)?
            }
            None => Vec::new(),
        };
        dims.resize(2, Dimension::Param(String::new()));
        for (i, d) in dims.iter_mut().enumerate() {
            if *d == Dimension::Param(String::new()) {
                *d = Dimension::Param(["batch", "tokens"][i].to_string());
            }
        }
        let scale = self
            .nodes
            .iter()
            .find(|n| n.op == "LayerNormalization")
            .and_then(|n| n.inputs.get(1));
        let size = scale
            .and_then(|name| self.initializers.iter().find(|(n, _, _)| n == name))
            .map(|(_, _, tensor)| -> io::Result<Option<u64>> {
                Ok(fields(tensor)?
                    .iter()
                    .filter(|f| f.number == TENSOR_DIMS && f.wire == VARINT)
                    .map(|f| f.value)
                    .next_back())
            })
            .transpose()?
            .flatten();
        dims.push(match size {
            Some(v) => Dimension::Value(v),
            None => Dimension::Param("hidden".into()),
        });
        Ok(dims)
    }

    /// Cuts the graph after layer `layer` (see [`Graph::layer_output`]).
    pub fn cut_after_layer(&self, layer: usize) -> io::Result<Cut> {
        let hidden = self.layer_output(layer)?;
        let graph_inputs: Vec<&str> = self.inputs.iter().map(|(n, _)| n.as_str()).collect();
        let graph_outputs: Vec<&str> = self.outputs.iter().map(|(n, _)| n.as_str()).collect();
        let early = self.segment(&graph_inputs, &[hidden.as_str()])?;
        let late = self.segment(&[hidden.as_str()], &graph_outputs)?;
        Ok(Cut {
            hidden,
            early,
            late,
        })
    }

    /// The segment that computes `outputs` from `inputs`: the nodes they need, found
    /// backwards, stopping at `inputs` and initializers. A graph input that those nodes read
    /// and that is not among `inputs` (the attention mask) becomes an input too.
    pub fn segment(&self, inputs: &[&str], outputs: &[&str]) -> io::Result<Segment> {
        let producer: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.outputs.iter().map(move |o| (o.as_str(), i)))
            .collect();
        let initializers: HashSet<&str> = self
            .initializers
            .iter()
            .map(|(n, _, _)| n.as_str())
            .collect();
        let graph_inputs: HashSet<&str> = self.inputs.iter().map(|(n, _)| n.as_str()).collect();
        let given: HashSet<&str> = inputs.iter().copied().collect();
        let mut keep = vec![false; self.nodes.len()];
        let mut used_inits = HashSet::new();
        let mut extra_inputs = HashSet::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<&str> = outputs.to_vec();
        while let Some(t) = stack.pop() {
            if t.is_empty() || !seen.insert(t) || given.contains(t) {
                continue;
            }
            if let Some(&i) = producer.get(t) {
                if !keep[i] {
                    keep[i] = true;
                    stack.extend(self.nodes[i].inputs.iter().map(String::as_str));
                }
            } else if initializers.contains(t) {
                used_inits.insert(t);
            } else if graph_inputs.contains(t) {
                extra_inputs.insert(t);
            } else {
                return Err(invalid(format!("tensor `{t}` has no source in the graph")));
            }
        }
        // a tensor between segments: [batch, tokens, hidden], with the graph's own names for
        // the batch and token dimensions (those of its first input) and the hidden size, so
        // that ONNX Runtime infers the shapes, and fuses the nodes, as in the whole graph
        let hidden_dims = self.hidden_dims()?;
        let hidden_info = |name: &str| float_value_info(name, &hidden_dims);
        let mut graph = Vec::new();
        for (n, _) in self.nodes.iter().zip(&keep).filter(|(_, &k)| k) {
            graph.extend_from_slice(n.raw);
        }
        for raw in &self.graph_fields {
            graph.extend_from_slice(raw);
        }
        let mut kept_inits = Vec::new();
        for (name, raw, _) in &self.initializers {
            if used_inits.contains(name.as_str()) {
                graph.extend_from_slice(raw);
                kept_inits.push(name.clone());
            }
        }
        // inputs: the given ones (in their order), then the graph inputs they pulled in
        let mut input_names = Vec::new();
        for &name in inputs {
            match self.inputs.iter().find(|(n, _)| n == name) {
                Some((_, raw)) => graph.extend_from_slice(raw),
                None => put_len(&mut graph, GRAPH_INPUT, &hidden_info(name)),
            }
            input_names.push(name.to_string());
        }
        for (name, raw) in &self.inputs {
            if extra_inputs.contains(name.as_str()) {
                graph.extend_from_slice(raw);
                input_names.push(name.clone());
            }
        }
        for &name in outputs {
            match self.outputs.iter().find(|(n, _)| n == name) {
                Some((_, raw)) => graph.extend_from_slice(raw),
                None => put_len(&mut graph, GRAPH_OUTPUT, &hidden_info(name)),
            }
        }
        let kept_tensors: HashSet<&str> = self
            .nodes
            .iter()
            .zip(&keep)
            .filter(|(_, &k)| k)
            .flat_map(|(n, _)| n.outputs.iter().map(String::as_str))
            .collect();
        for (name, raw) in &self.value_info {
            if kept_tensors.contains(name.as_str()) && !outputs.contains(&name.as_str()) {
                graph.extend_from_slice(raw);
            }
        }
        let mut bytes = Vec::with_capacity(graph.len() + 64);
        for raw in &self.model_fields {
            bytes.extend_from_slice(raw);
        }
        put_len(&mut bytes, MODEL_GRAPH, &graph);
        Ok(Segment {
            bytes,
            inputs: input_names,
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            initializers: kept_inits,
        })
    }
}

/// A dimension of a tensor type: a size, or a symbolic name.
#[derive(Debug, Clone, PartialEq)]
enum Dimension {
    Value(u64),
    Param(String),
}

const VALUE_INFO_TYPE: u64 = 2;
const TYPE_TENSOR: u64 = 1;
const TENSOR_TYPE_ELEM: u64 = 1;
const TENSOR_TYPE_SHAPE: u64 = 2;
const SHAPE_DIM: u64 = 1;
const DIM_VALUE: u64 = 1;
const DIM_PARAM: u64 = 2;
const TENSOR_DIMS: u64 = 1;
const ELEM_FLOAT: u64 = 1;

/// The dimensions of a `ValueInfoProto`'s tensor type (empty when it has no shape).
fn value_info_dims(msg: &[u8]) -> io::Result<Vec<Dimension>> {
    let pick = |b: &[u8], n: u64| -> io::Result<Option<Vec<u8>>> {
        Ok(fields(b)?
            .into_iter()
            .find(|f| f.number == n && f.wire == LEN)
            .map(|f| f.data.to_vec()))
    };
    let Some(t) = pick(msg, VALUE_INFO_TYPE)? else {
        return Ok(Vec::new());
    };
    let Some(tensor) = pick(&t, TYPE_TENSOR)? else {
        return Ok(Vec::new());
    };
    let Some(shape) = pick(&tensor, TENSOR_TYPE_SHAPE)? else {
        return Ok(Vec::new());
    };
    let mut dims = Vec::new();
    for d in fields(&shape)?
        .into_iter()
        .filter(|f| f.number == SHAPE_DIM && f.wire == LEN)
    {
        let mut dim = Dimension::Param(String::new());
        for f in fields(d.data)? {
            match (f.number, f.wire) {
                (DIM_VALUE, VARINT) => dim = Dimension::Value(f.value),
                (DIM_PARAM, LEN) => {
                    dim = Dimension::Param(String::from_utf8_lossy(f.data).into_owned())
                }
                _ => {}
            }
        }
        dims.push(dim);
    }
    Ok(dims)
}

/// A `ValueInfoProto` of a float tensor with these dimensions.
fn float_value_info(name: &str, dims: &[Dimension]) -> Vec<u8> {
    let mut shape = Vec::new();
    for d in dims {
        let mut dim = Vec::new();
        match d {
            Dimension::Value(v) => {
                put_varint(&mut dim, DIM_VALUE << 3 | VARINT);
                put_varint(&mut dim, *v);
            }
            Dimension::Param(p) => put_len(&mut dim, DIM_PARAM, p.as_bytes()),
        }
        put_len(&mut shape, SHAPE_DIM, &dim);
    }
    let mut tensor = Vec::new();
    put_varint(&mut tensor, TENSOR_TYPE_ELEM << 3 | VARINT);
    put_varint(&mut tensor, ELEM_FLOAT);
    put_len(&mut tensor, TENSOR_TYPE_SHAPE, &shape);
    let mut t = Vec::new();
    put_len(&mut t, TYPE_TENSOR, &tensor);
    let mut out = Vec::new();
    put_len(&mut out, VALUE_INFO_NAME, name.as_bytes());
    put_len(&mut out, VALUE_INFO_TYPE, &t);
    out
}

fn put_len(out: &mut Vec<u8>, field: u64, data: &[u8]) {
    put_varint(out, field << 3 | LEN);
    put_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::onnx_writer::{DataType, Dim, Graph as Writer, Tensor, ValueInfo};

    /// A toy "encoder": an embedding norm and two layers of two norms each, a mask input
    /// that the second layer reads, and two outputs.
    fn toy() -> Vec<u8> {
        let mut g = Writer {
            name: "toy".into(),
            initializers: vec![
                Tensor::float("scale", &[2], vec![1.0, 1.0]),
                Tensor::float("bias", &[2], vec![0.0, 0.0]),
                Tensor::float("w1", &[2], vec![2.0, 2.0]),
                Tensor::float("w2", &[2], vec![3.0, 3.0]),
            ],
            inputs: vec![
                ValueInfo {
                    name: "x".into(),
                    elem: DataType::Float,
                    dims: vec![Dim::Symbolic("n"), Dim::Symbolic("t"), Dim::Fixed(2)],
                },
                ValueInfo {
                    name: "mask".into(),
                    elem: DataType::Float,
                    dims: vec![Dim::Symbolic("n"), Dim::Fixed(2)],
                },
            ],
            outputs: vec![
                ValueInfo {
                    name: "y".into(),
                    elem: DataType::Float,
                    dims: vec![Dim::Symbolic("n"), Dim::Fixed(2)],
                },
                ValueInfo {
                    name: "states".into(),
                    elem: DataType::Float,
                    dims: vec![Dim::Symbolic("n"), Dim::Fixed(2)],
                },
            ],
            ..Default::default()
        };
        let ln = "LayerNormalization";
        g.node(ln, &["x", "scale", "bias"], "e", vec![]);
        g.node("Mul", &["e", "w1"], "l1a", vec![]);
        g.node(ln, &["l1a", "scale", "bias"], "n1a", vec![]);
        g.node(ln, &["n1a", "scale", "bias"], "h1", vec![]);
        g.node("Mul", &["h1", "w2"], "l2a", vec![]);
        g.node("Mul", &["l2a", "mask"], "l2m", vec![]);
        g.node(ln, &["l2m", "scale", "bias"], "n2a", vec![]);
        g.node(ln, &["n2a", "scale", "bias"], "states", vec![]);
        g.node("Identity", &["states"], "y", vec![]);
        g.to_bytes()
    }

    fn ops(seg: &Segment) -> Vec<String> {
        Graph::parse(&seg.bytes)
            .unwrap()
            .nodes
            .iter()
            .map(|n| format!("{}>{}", n.op, n.outputs[0]))
            .collect()
    }

    #[test]
    fn the_cut_splits_the_nodes_and_initializers_between_the_segments() {
        let bytes = toy();
        let g = Graph::parse(&bytes).unwrap();
        assert_eq!(g.layer_output(1).unwrap(), "h1");
        let cut = g.cut_after_layer(1).unwrap();
        assert_eq!(cut.hidden, "h1");
        assert_eq!(
            ops(&cut.early),
            [
                "LayerNormalization>e",
                "Mul>l1a",
                "LayerNormalization>n1a",
                "LayerNormalization>h1"
            ]
        );
        // the early segment needs no mask; the declared inputs stay (ONNX Runtime feeds both)
        assert_eq!(cut.early.inputs, ["x", "mask"]);
        assert_eq!(cut.early.outputs, ["h1"]);
        assert_eq!(cut.early.initializers, ["scale", "bias", "w1"]);
        assert_eq!(
            ops(&cut.late),
            [
                "Mul>l2a",
                "Mul>l2m",
                "LayerNormalization>n2a",
                "LayerNormalization>states",
                "Identity>y"
            ]
        );
        // the mask is pulled in as an input of the late segment
        assert_eq!(cut.late.inputs, ["h1", "mask"]);
        assert_eq!(cut.late.outputs, ["y", "states"]);
        assert_eq!(cut.late.initializers, ["scale", "bias", "w2"]);
        // each segment is a model again, with the original's other fields
        let late = Graph::parse(&cut.late.bytes).unwrap();
        assert_eq!(late.model_fields, g.model_fields);
        assert_eq!(
            late.inputs
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["h1", "mask"]
        );
        // the cut tensor is typed with the graph's dimension names and the hidden size
        let typed = fields(late.inputs[0].1).unwrap();
        assert_eq!(
            value_info_dims(typed[0].data).unwrap(),
            [
                Dimension::Param("n".into()),
                Dimension::Param("t".into()),
                Dimension::Value(2)
            ]
        );
    }

    #[test]
    fn a_cut_must_leave_a_layer_on_each_side() {
        let bytes = toy();
        let g = Graph::parse(&bytes).unwrap();
        for layer in [0, 2, 3] {
            let e = g.cut_after_layer(layer).unwrap_err().to_string();
            assert!(e.contains("the encoder has 2 layers"), "{e}");
        }
    }

    #[test]
    fn a_tensor_without_source_is_an_error() {
        let bytes = toy();
        let g = Graph::parse(&bytes).unwrap();
        let e = g.segment(&["x"], &["nowhere"]).unwrap_err().to_string();
        assert!(e.contains("`nowhere` has no source"), "{e}");
        assert!(Graph::parse(b"not a model").is_err());
        assert!(Graph::parse(b"").is_err());
    }
}
