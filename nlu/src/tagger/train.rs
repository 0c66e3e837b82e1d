//! Fitting the tagger: a hidden layer (ReLU) over windows of three token states (the piece,
//! the one before and the one after) and the mean state of the whole sentence, then a
//! softmax over windows of three hidden states, so that each tag sees five pieces and the
//! gist of the sentence (or, with `hidden: 0`, one softmax layer over the states' windows).
//! Trained with Adam on mini-batches of whole sentences, by default as a linear-chain CRF
//! ([`super::crf`]): the loss is that of each whole tag sequence, and the transition scores
//! that decoding adds are learnt with the layers (with `crf: false`, each piece's softmax
//! is trained on its own and the transition scores are counted from the gold tags).
//!
//! With a hidden layer, each piece's lexicon features ([`super::lexicon`]: whether it begins
//! or continues a value that the training examples annotate, and as which type) feed both
//! the hidden layer and the piece's own tag scores. Each training text reads the values of
//! the other folds' texts, so that the tagger learns how far a known value can be trusted.
//!
//! Each window is a 1-D convolution of width 3 over the sequence, which is how the saved
//! graph computes it (`Conv` with zero padding), so the Rust scores here and ONNX Runtime's
//! agree.

use super::lexicon::{out_of_fold_features, Lexicon};
use super::{bio, crf, TaggerMeta};
use crate::error::{NluError, Result};
use crate::model::onnx_writer::{Attr, DataType, Dim, Graph, Tensor, ValueInfo};
use crate::result::{EntityKind, IntentName};
use crate::train::TokenStates;
use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Width of the window of token states each piece is tagged from.
pub const WINDOW: usize = 3;

/// One training sequence: the token states of a text (all its pieces, special ones
/// included, `[pieces × dim]`), its lexicon features (`[pieces × columns]`, no columns when
/// the tagger reads no lexicon; [`super::lexicon`]) and the gold tag of each piece (`None`:
/// not trained on).
#[derive(Debug, Clone)]
pub struct Sequence {
    pub states: Array2<f32>,
    pub lexicon: Array2<f32>,
    pub tags: Vec<Option<usize>>,
}

/// Fitting settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaggerOptions {
    /// Passes over the data; more when that would make fewer than `min_steps` updates
    /// (small data sets), but never more than `max_epochs` for that ([`TaggerOptions::passes`]).
    pub epochs: usize,
    pub min_steps: usize,
    /// The most passes that `min_steps` may ask for: on a few dozen texts, a thousand updates
    /// are hundreds of passes over the same pieces, which cost time and teach little more.
    pub max_epochs: usize,
    /// Pieces per mini-batch (whole sequences).
    pub batch: usize,
    /// Units of the hidden layer; 0: none (one softmax layer over the window).
    pub hidden: usize,
    /// Whether the hidden layer also sees the mean of the sentence's states (with a hidden
    /// layer only).
    pub context: bool,
    /// Whether to train as a linear-chain CRF ([`super::crf`]): the loss is that of whole
    /// tag sequences, and the transition scores are learnt with the layers (else each
    /// piece's tag is a softmax of its own, and the transition scores come from counts).
    pub crf: bool,
    /// Without `crf`: weight of the tag-transition scores counted from the gold tags in
    /// decoding; 0: only the BIO constraints. (A CRF's learnt scores are used as they are.)
    pub transitions: f32,
    pub learning_rate: f32,
    /// L2 penalty on the weights.
    pub l2: f32,
    pub seed: u64,
    /// Folds of the annotated values' lexicon features ([`super::lexicon`]): each training
    /// text reads the values of the other folds' texts. 0: no lexicon (nor without a hidden
    /// layer).
    pub lexicon_folds: usize,
}

impl TaggerOptions {
    /// The passes over data of `batches` mini-batches: `epochs`, or more to make `min_steps`
    /// updates, but no more than `max_epochs` for that.
    ///
    /// ```
    /// use nlu::tagger::train::TaggerOptions;
    /// let o = TaggerOptions::default(); // 6 epochs, 1,000 updates, at most 50 passes
    /// assert_eq!(o.passes(600), 6); // thousands of texts: 6 passes, 3,600 updates
    /// assert_eq!(o.passes(25), 40); // a few hundred texts: 1,000 updates
    /// assert_eq!(o.passes(7), 50); // a few dozen texts: 350 updates
    /// ```
    pub fn passes(&self, batches: usize) -> usize {
        let for_steps = self.min_steps.div_ceil(batches.max(1));
        self.epochs.max(for_steps.min(self.max_epochs))
    }
}

impl Default for TaggerOptions {
    fn default() -> Self {
        // chosen on SNIPS's validation split (slot F1, `nlu benchmark --dataset snips`).
        // Per-piece softmax: no hidden layer 91.5, 128 units 92.4, 256 units 92.9 (but 92 s
        // to fit instead of 52 s); with 128 units, transition weight 0.5: 92.7, 1.0: 92.5;
        // with the sentence's mean state in the hidden layer: 93.4 (against 92.5).
        // Trained as a CRF instead (means over seeds 17, 18, 19): 128 units, 8 epochs 94.3;
        // 192 units, 6 epochs 94.9 (48 s); 256 units, 6 epochs 94.6 (61 s, seed 17 only);
        // 128 units, 12 epochs 94.0.
        // With the lexicon of annotated values (five folds), seeds 17 / 18 / 19: in the
        // hidden layer 95.1 / 95.3 / 95.1; in the hidden layer and the tag scores 95.7 / 95.5
        // / 95.1 (without: 95.1 / 95.1 / 94.6); with the gazetteers' word boundaries for
        // the lexicon's matches, 95.4 / 95.7 / 95.5.
        // At most 50 passes for `min_steps`: on every 130th SNIPS training text (100 texts,
        // `SUBSAMPLE=100` in the tagger_experiments example), 1,000 / 600 / 400 / 200 updates
        // score 59.9 / 60.0 / 59.7 / 60.1 on validation, in 10 / 6 / 4 / 2 s, and the cap
        // 59.7 in 4 s; on every 43rd (300 texts), 77.1 / 77.1 / 76.9 / 76.3, and the cap
        // does not bind (77.1). It binds below 20 batches (about 5,000 pieces): SNIPS and the
        // ChatOps model (29,150 pieces, 9 passes) train as before; the smart-home example
        // (1,606 pieces) makes 350 updates instead of 1,000.
        TaggerOptions {
            epochs: 6,
            min_steps: 1000,
            max_epochs: 50,
            batch: 256,
            hidden: 192,
            context: true,
            crf: true,
            transitions: 0.5,
            learning_rate: 1e-3,
            l2: 1e-5,
            seed: 17,
            lexicon_folds: 5,
        }
    }
}

/// A fitted tagger. Without a hidden layer: `[WINDOW·dim × tags]` weights over the window of
/// token states (rows: the previous piece's state, the piece's own, the next one's). With
/// one: a `[WINDOW·dim × hidden]` layer with ReLU, then `[WINDOW·hidden × tags]` over the
/// window of hidden states (each tag then sees five pieces).
#[derive(Debug, Clone, PartialEq)]
pub struct TaggerWeights {
    pub dim: usize,
    pub tags: usize,
    /// The hidden layer's weights and bias, when there is one.
    pub hidden: Option<(Array2<f32>, Array1<f32>)>,
    /// When it reads lexicon features: their weights in the hidden layer, `[columns ×
    /// hidden]`, and in the tag scores, `[columns × tags]` (each piece's own features).
    pub lexicon: Option<(Array2<f32>, Array2<f32>)>,
    pub weights: Array2<f32>,
    pub bias: Array1<f32>,
    /// Transition scores learnt as a CRF's (laid out as [`bio::viterbi_with`] reads them);
    /// empty when trained per piece.
    pub transitions: Vec<f32>,
}

/// The window features of every piece of one sequence, `[pieces × WINDOW·dim]`.
pub fn windows(states: ArrayView2<f32>) -> Array2<f32> {
    let (n, dim) = states.dim();
    let mut x = Array2::zeros((n, WINDOW * dim));
    for i in 0..n {
        for k in 0..WINDOW {
            let j = i as isize + k as isize - 1;
            if j >= 0 && (j as usize) < n {
                x.slice_mut(s![i, k * dim..(k + 1) * dim])
                    .assign(&states.row(j as usize));
            }
        }
    }
    x
}

/// The gradient of the pieces' states from that of their windows ([`windows`]'s adjoint),
/// for pieces of several sequences stacked (`bounds`: each sequence's first row and length).
fn unwindow(grad: ArrayView2<f32>, dim: usize, bounds: &[(usize, usize)]) -> Array2<f32> {
    let mut out = Array2::zeros((grad.nrows(), dim));
    for &(o, n) in bounds {
        for i in 0..n {
            for k in 0..WINDOW {
                let j = i as isize + k as isize - 1;
                if j >= 0 && (j as usize) < n {
                    let g = grad.slice(s![o + i, k * dim..(k + 1) * dim]);
                    out.row_mut(o + j as usize).scaled_add(1.0, &g);
                }
            }
        }
    }
    out
}

/// The hidden layer's input rows of one sequence: each piece's window of states and, with
/// `context`, the mean of all the sequence's states (the same in every row).
fn layer_one_input(states: ArrayView2<f32>, context: bool) -> Array2<f32> {
    let w = windows(states);
    if !context {
        return w;
    }
    let (n, dim) = states.dim();
    let mean = states
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(dim));
    let mut x = Array2::zeros((n, (WINDOW + 1) * dim));
    x.slice_mut(s![.., ..WINDOW * dim]).assign(&w);
    for mut row in x.rows_mut() {
        row.slice_mut(s![WINDOW * dim..]).assign(&mean);
    }
    x
}

/// Windows of several sequences' rows, stacked.
fn stacked_windows(x: ArrayView2<f32>, bounds: &[(usize, usize)]) -> Array2<f32> {
    let dim = x.ncols();
    let mut out = Array2::zeros((x.nrows(), WINDOW * dim));
    for &(o, n) in bounds {
        out.slice_mut(s![o..o + n, ..])
            .assign(&windows(x.slice(s![o..o + n, ..])));
    }
    out
}

/// Conv weights `[out, in, WINDOW]` from window weights `[WINDOW·in × out]`.
fn conv_weights(w: &Array2<f32>, input: usize) -> Vec<f32> {
    let out = w.ncols();
    let mut conv = Vec::with_capacity(out * input * WINDOW);
    for t in 0..out {
        for c in 0..input {
            for k in 0..WINDOW {
                conv.push(w[[k * input + c, t]]);
            }
        }
    }
    conv
}

impl TaggerWeights {
    /// Tag probabilities of every piece of a sequence, `[pieces × tags]`, from its token
    /// states and, when the tagger reads them, its lexicon features (`[pieces × columns]`).
    pub fn probabilities(
        &self,
        states: ArrayView2<f32>,
        lexicon: Option<ArrayView2<f32>>,
    ) -> Array2<f32> {
        let mut z = match &self.hidden {
            Some((w1, b1)) => {
                let context = w1.nrows() == (WINDOW + 1) * self.dim;
                let mut h = layer_one_input(states, context).dot(w1);
                if let (Some((wl, _)), Some(f)) = (&self.lexicon, lexicon) {
                    h += &f.dot(wl);
                }
                h += b1;
                h.mapv_inplace(|v| v.max(0.0));
                windows(h.view()).dot(&self.weights)
            }
            None => windows(states).dot(&self.weights),
        };
        z += &self.bias;
        if let (Some((_, wt)), Some(f)) = (&self.lexicon, lexicon) {
            z += &f.dot(wt);
        }
        softmax_rows(&mut z);
        z
    }

    /// The graph saved as `tagger.onnx`: `token_states` `[1, pieces, dim]` to
    /// `tag_probabilities` `[1, pieces, tags]`.
    pub fn to_graph(&self, types: &[String]) -> Graph {
        let (dim, tags) = (self.dim, self.tags);
        let mut g = Graph {
            name: "nlu-entity-tagger".into(),
            ..Default::default()
        };
        let conv_attrs = || {
            vec![
                ("kernel_shape", Attr::Ints(vec![WINDOW as i64])),
                ("pads", Attr::Ints(vec![1, 1])),
            ]
        };
        g.node(
            "Transpose",
            &["token_states"],
            "channels",
            vec![("perm", Attr::Ints(vec![0, 2, 1]))],
        );
        let mut input = ("channels", dim);
        if let Some((w1, b1)) = &self.hidden {
            let h = w1.ncols();
            let window_rows = WINDOW * dim;
            g.initializers.push(Tensor::float(
                "hidden_w",
                &[h as i64, dim as i64, WINDOW as i64],
                conv_weights(&w1.slice(s![..window_rows, ..]).to_owned(), dim),
            ));
            g.initializers
                .push(Tensor::float("hidden_b", &[h as i64], b1.to_vec()));
            g.node(
                "Conv",
                &["channels", "hidden_w", "hidden_b"],
                "hidden_windows",
                conv_attrs(),
            );
            if w1.nrows() > window_rows {
                // the sentence's mean state, through its own rows of the layer, added to
                // every piece
                let ctx = w1.slice(s![window_rows.., ..]);
                g.initializers.push(matrix("context_w", ctx));
                g.node(
                    "ReduceMean",
                    &["token_states"],
                    "sentence_mean",
                    vec![("axes", Attr::Ints(vec![1])), ("keepdims", Attr::Int(1))],
                );
                g.node(
                    "MatMul",
                    &["sentence_mean", "context_w"],
                    "context_row",
                    vec![],
                );
                g.node(
                    "Transpose",
                    &["context_row"],
                    "context",
                    vec![("perm", Attr::Ints(vec![0, 2, 1]))],
                );
                g.node("Add", &["hidden_windows", "context"], "hidden_pre", vec![]);
            } else {
                g.node("Identity", &["hidden_windows"], "hidden_pre", vec![]);
            }
            let mut pre = "hidden_pre";
            if let Some((wl, _)) = &self.lexicon {
                // each piece's lexicon features, through their own rows of the layer
                g.initializers.push(matrix("lexicon_w", wl.view()));
                g.node("MatMul", &["lexicon", "lexicon_w"], "lexicon_rows", vec![]);
                g.node(
                    "Transpose",
                    &["lexicon_rows"],
                    "lexicon_channels",
                    vec![("perm", Attr::Ints(vec![0, 2, 1]))],
                );
                g.node(
                    "Add",
                    &["hidden_pre", "lexicon_channels"],
                    "hidden_lexicon",
                    vec![],
                );
                pre = "hidden_lexicon";
            }
            g.node("Relu", &[pre], "hidden", vec![]);
            input = ("hidden", h);
        }
        g.initializers.push(Tensor::float(
            "conv_w",
            &[tags as i64, input.1 as i64, WINDOW as i64],
            conv_weights(&self.weights, input.1),
        ));
        g.initializers
            .push(Tensor::float("conv_b", &[tags as i64], self.bias.to_vec()));
        g.node(
            "Conv",
            &[input.0, "conv_w", "conv_b"],
            "scores",
            conv_attrs(),
        );
        g.node(
            "Transpose",
            &["scores"],
            "logits",
            vec![("perm", Attr::Ints(vec![0, 2, 1]))],
        );
        let mut logits = "logits";
        if let Some((_, wt)) = &self.lexicon {
            // and straight into each piece's own tag scores
            g.initializers.push(matrix("lexicon_tags_w", wt.view()));
            g.node(
                "MatMul",
                &["lexicon", "lexicon_tags_w"],
                "lexicon_scores",
                vec![],
            );
            g.node(
                "Add",
                &["logits", "lexicon_scores"],
                "logits_lexicon",
                vec![],
            );
            logits = "logits_lexicon";
        }
        g.node(
            "Softmax",
            &[logits],
            "tag_probabilities",
            vec![("axis", Attr::Int(-1))],
        );
        g.inputs = vec![per_token("token_states", dim)];
        if let Some((wl, _)) = &self.lexicon {
            g.inputs.push(per_token("lexicon", wl.nrows()));
        }
        g.outputs = vec![per_token("tag_probabilities", tags)];
        g.metadata = vec![("entity_types".into(), types.join(","))];
        g
    }
}

/// A float matrix initializer of the graph, row after row.
fn matrix(name: &str, m: ArrayView2<f32>) -> Tensor {
    Tensor::float(
        name,
        &[m.nrows() as i64, m.ncols() as i64],
        m.iter().copied().collect(),
    )
}

/// A float `[batch, sequence, size]` graph input or output.
fn per_token(name: &str, size: usize) -> ValueInfo {
    ValueInfo {
        name: name.into(),
        elem: DataType::Float,
        dims: vec![
            Dim::Symbolic("batch"),
            Dim::Symbolic("sequence"),
            Dim::Fixed(size as i64),
        ],
    }
}

fn softmax_rows(z: &mut Array2<f32>) {
    for mut row in z.axis_iter_mut(Axis(0)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        row /= sum;
    }
}

/// A fitted tagger with what `model.json` says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedTagger {
    pub weights: TaggerWeights,
    pub meta: TaggerMeta,
}

impl TrainedTagger {
    /// The matcher of its lexicon, when it reads one ([`TaggerMeta::lexicon`]).
    pub fn matcher(&self) -> Result<Option<super::lexicon::LexiconMatcher>> {
        if self.meta.lexicon.is_empty() {
            return Ok(None);
        }
        self.meta.lexicon.matcher(self.meta.types.len()).map(Some)
    }
}

/// Fits a tagger of `types` on texts, their token states, their annotated spans (type index
/// into `types`, character range) and their intents, one of each per text in the same order.
/// Texts without annotations teach it what is not an entity. The meta lists the intents
/// with annotated examples ([`TaggerMeta::intents`]) and, with a hidden layer and
/// `options.lexicon_folds`, the annotated values whose matches it reads
/// ([`TaggerMeta::lexicon`]).
pub fn train(
    texts: &[&str],
    states: Vec<TokenStates>,
    annotations: &[Vec<bio::TypedSpan>],
    intents: &[IntentName],
    types: Vec<EntityKind>,
    options: &TaggerOptions,
) -> Result<TrainedTagger> {
    if states.len() != annotations.len()
        || intents.len() != annotations.len()
        || texts.len() != annotations.len()
    {
        return Err(NluError::Training(format!(
            "{} texts, {} texts' token states and {} intents for {} annotation lists",
            texts.len(),
            states.len(),
            intents.len(),
            annotations.len()
        )));
    }
    let lexicon = if options.lexicon_folds > 0 && options.hidden > 0 {
        Lexicon::from_spans(
            texts
                .iter()
                .zip(annotations)
                .map(|(t, a)| (*t, a.as_slice())),
        )
    } else {
        Lexicon::default()
    };
    let started = std::time::Instant::now();
    let features = if lexicon.is_empty() {
        states
            .iter()
            .map(|s| Array2::zeros((s.states.nrows(), 0)))
            .collect()
    } else {
        out_of_fold_features(
            texts,
            &states,
            annotations,
            types.len(),
            options.lexicon_folds,
        )?
    };
    tracing::debug!(
        values = lexicon.len(),
        ms = started.elapsed().as_millis() as u64,
        "the tagger's lexicon features"
    );
    let mut tagged_intents: Vec<IntentName> = intents
        .iter()
        .zip(annotations)
        .filter(|(_, spans)| !spans.is_empty())
        .map(|(intent, _)| intent.clone())
        .collect();
    tagged_intents.sort();
    tagged_intents.dedup();
    let examples = annotations.iter().filter(|a| !a.is_empty()).count();
    let sequences: Vec<Sequence> = states
        .into_iter()
        .zip(annotations)
        .zip(features)
        .map(|((s, a), lexicon)| Sequence {
            tags: bio::gold_tags(&s.spans, a),
            states: s.states,
            lexicon,
        })
        .collect();
    let weights = fit(&sequences, types.len(), options)?;
    let transitions = if !weights.transitions.is_empty() {
        weights.transitions.clone()
    } else if options.transitions > 0.0 {
        let tags: Vec<Vec<Option<usize>>> = sequences.into_iter().map(|s| s.tags).collect();
        bio::transitions(&tags, bio::tag_count(types.len()))
            .into_iter()
            .map(|v| v * options.transitions)
            .collect()
    } else {
        Vec::new()
    };
    Ok(TrainedTagger {
        weights,
        meta: TaggerMeta {
            types,
            examples,
            transitions,
            intents: tagged_intents,
            lexicon,
        },
    })
}

/// A Glorot-uniform matrix.
fn glorot(rng: &mut StdRng, rows: usize, cols: usize) -> Array2<f32> {
    let a = (6.0 / (rows + cols) as f32).sqrt();
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-a..=a))
}

/// Adam's state for one parameter.
struct Moments<D: ndarray::Dimension> {
    m: ndarray::Array<f32, D>,
    v: ndarray::Array<f32, D>,
}

impl<D: ndarray::Dimension> Moments<D> {
    fn new(like: &ndarray::Array<f32, D>) -> Self {
        Moments {
            m: ndarray::Array::zeros(like.raw_dim()),
            v: ndarray::Array::zeros(like.raw_dim()),
        }
    }

    fn step(
        &mut self,
        w: &mut ndarray::Array<f32, D>,
        g: &ndarray::Array<f32, D>,
        lr: f32,
        t: i32,
    ) {
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        ndarray::Zip::from(w)
            .and(g)
            .and(&mut self.m)
            .and(&mut self.v)
            .for_each(|w, &g, m, v| {
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
            });
    }
}

/// Fits the tagger on `sequences` with `types` entity types: mini-batches of whole
/// sequences (about `options.batch` pieces each), Adam, a cosine-decayed learning rate.
pub fn fit(sequences: &[Sequence], types: usize, options: &TaggerOptions) -> Result<TaggerWeights> {
    let tags = bio::tag_count(types);
    let dim = sequences
        .first()
        .map(|s| s.states.ncols())
        .ok_or_else(|| NluError::Training("the tagger has no annotated examples".into()))?;
    let columns = sequences.first().map_or(0, |s| s.lexicon.ncols());
    for seq in sequences {
        if seq.lexicon.ncols() != columns || seq.lexicon.nrows() != seq.tags.len() {
            return Err(NluError::Training(format!(
                "a tagger sequence has {}×{} lexicon features for {} tags (expected {columns} \
                 columns)",
                seq.lexicon.nrows(),
                seq.lexicon.ncols(),
                seq.tags.len()
            )));
        }
        if seq.states.ncols() != dim || seq.states.nrows() != seq.tags.len() {
            return Err(NluError::Training(format!(
                "a tagger sequence has {}×{} states for {} tags (expected {dim} columns)",
                seq.states.nrows(),
                seq.states.ncols(),
                seq.tags.len()
            )));
        }
        if let Some(t) = seq.tags.iter().flatten().find(|&&t| t >= tags) {
            return Err(NluError::Training(format!("tag {t} is out of range")));
        }
    }
    let tagged: usize = sequences
        .iter()
        .map(|s| s.tags.iter().filter(|t| t.is_some()).count())
        .sum();
    if tagged == 0 {
        return Err(NluError::Training("the tagger has no tagged pieces".into()));
    }
    // batches of whole sequences, about `batch` pieces each
    let mut order: Vec<usize> = (0..sequences.len()).collect();
    let mut rng = StdRng::seed_from_u64(options.seed);
    let pieces: usize = sequences.iter().map(|s| s.tags.len()).sum();
    let per_epoch = pieces.div_ceil(options.batch.max(1)).max(1);
    let epochs = options.passes(per_epoch);
    tracing::debug!(
        pieces,
        batches = per_epoch,
        passes = epochs,
        "fitting the tagger"
    );
    let hidden_size = options.hidden;
    let input = if hidden_size > 0 { hidden_size } else { dim };
    let in_rows = (WINDOW + usize::from(options.context)) * dim;
    let mut hidden = (hidden_size > 0).then(|| {
        (
            glorot(&mut rng, in_rows, hidden_size),
            Array1::<f32>::zeros(hidden_size),
        )
    });
    let mut weights = if hidden.is_some() {
        glorot(&mut rng, WINDOW * input, tags)
    } else {
        Array2::zeros((WINDOW * input, tags))
    };
    let mut bias = Array1::<f32>::zeros(tags);
    let mut m_hidden = hidden
        .as_ref()
        .map(|(w, b)| (Moments::new(w), Moments::new(b)));
    // the lexicon's weights start at zero: the states alone until the features earn a weight
    let mut lexicon = (hidden_size > 0 && columns > 0).then(|| {
        (
            Array2::<f32>::zeros((columns, hidden_size)),
            Array2::<f32>::zeros((columns, tags)),
        )
    });
    let mut m_lexicon = lexicon
        .as_ref()
        .map(|(h, t)| (Moments::new(h), Moments::new(t)));
    let mut transitions = Array1::<f32>::zeros(if options.crf { (tags + 1) * tags } else { 0 });
    let mut m_transitions = Moments::new(&transitions);
    let (mut m_w, mut m_b) = (Moments::new(&weights), Moments::new(&bias));
    let mut step = 0i32;
    for epoch in 0..epochs {
        order.shuffle(&mut rng);
        let lr = options.learning_rate
            * 0.5
            * (1.0 + (std::f32::consts::PI * epoch as f32 / epochs as f32).cos());
        let mut at = 0;
        while at < order.len() {
            // the next batch
            let mut bounds = Vec::new();
            let mut rows = 0;
            while at < order.len()
                && (rows == 0 || rows + sequences[order[at]].tags.len() <= options.batch)
            {
                let n = sequences[order[at]].tags.len();
                bounds.push((rows, n));
                rows += n;
                at += 1;
            }
            let first = at - bounds.len();
            let batch: Vec<&Sequence> = order[first..at].iter().map(|&i| &sequences[i]).collect();
            // the windows of every piece; with context, each sentence's mean state once (its
            // product with the layer is added to all the sentence's rows)
            let context = options.context && hidden_size > 0;
            let mut x0 = Array2::<f32>::zeros((rows, WINDOW * dim));
            let mut means = Array2::<f32>::zeros((batch.len(), dim));
            let mut lex = Array2::<f32>::zeros((rows, columns));
            for (k, (seq, &(o, n))) in batch.iter().zip(&bounds).enumerate() {
                x0.slice_mut(s![o..o + n, ..])
                    .assign(&windows(seq.states.view()));
                lex.slice_mut(s![o..o + n, ..]).assign(&seq.lexicon);
                if let Some(m) = seq.states.mean_axis(Axis(0)) {
                    means.row_mut(k).assign(&m);
                }
            }
            let window_rows = WINDOW * dim;
            let (x1, z1) = match &hidden {
                Some((w1, b1)) => {
                    let mut z1 = x0.dot(&w1.slice(s![..window_rows, ..]));
                    if context {
                        let ctx = means.dot(&w1.slice(s![window_rows.., ..]));
                        for (k, &(o, n)) in bounds.iter().enumerate() {
                            for mut row in z1.slice_mut(s![o..o + n, ..]).rows_mut() {
                                row += &ctx.row(k);
                            }
                        }
                    }
                    if let Some((wl, _)) = &lexicon {
                        z1 += &lex.dot(wl);
                    }
                    z1 += b1;
                    let a = z1.mapv(|v| v.max(0.0));
                    (stacked_windows(a.view(), &bounds), Some(z1))
                }
                None => (x0.clone(), None),
            };
            let mut p = x1.dot(&weights);
            p += &bias;
            if let Some((_, wt)) = &lexicon {
                p += &lex.dot(wt);
            }
            let mut count = 0usize;
            let mut d_transitions = Array1::<f32>::zeros(transitions.len());
            if options.crf {
                // the gradient of each sequence's CRF loss over its tagged pieces
                let factors = crf::transition_factors(transitions.as_slice().unwrap_or(&[]), tags);
                let mut d = Array2::<f32>::zeros(p.raw_dim());
                for (seq, &(o, n)) in batch.iter().zip(&bounds) {
                    let chain: Vec<(usize, usize)> =
                        (0..n).filter_map(|i| Some((o + i, seq.tags[i]?))).collect();
                    let rows: Vec<usize> = chain.iter().map(|c| c.0).collect();
                    let gold: Vec<usize> = chain.iter().map(|c| c.1).collect();
                    let emissions = p.select(Axis(0), &rows);
                    let mut d_chain = Array2::<f32>::zeros(emissions.raw_dim());
                    let loss = crf::nll(
                        emissions.view(),
                        &gold,
                        &factors,
                        1.0,
                        d_chain.view_mut(),
                        d_transitions.as_slice_mut().unwrap_or(&mut []),
                    );
                    if loss.is_finite() {
                        for (k, &r) in rows.iter().enumerate() {
                            d.row_mut(r).assign(&d_chain.row(k));
                        }
                        count += rows.len();
                    }
                }
                p = d;
            } else {
                softmax_rows(&mut p);
                for (seq, &(o, n)) in batch.iter().zip(&bounds) {
                    for i in 0..n {
                        let mut row = p.row_mut(o + i);
                        match seq.tags[i] {
                            Some(t) => {
                                row[t] -= 1.0;
                                count += 1;
                            }
                            None => row.fill(0.0),
                        }
                    }
                }
            }
            if count == 0 {
                continue;
            }
            p /= count as f32;
            step += 1;
            if options.crf {
                d_transitions /= count as f32;
                m_transitions.step(&mut transitions, &d_transitions, lr, step);
            }
            let mut gw = x1.t().dot(&p);
            gw.scaled_add(options.l2, &weights);
            let gb = p.sum_axis(Axis(0));
            if let (Some((w1, b1)), Some(z1), Some((mw1, mb1))) = (&mut hidden, &z1, &mut m_hidden)
            {
                let dx1 = p.dot(&weights.t());
                let mut dz1 = unwindow(dx1.view(), hidden_size, &bounds);
                ndarray::Zip::from(&mut dz1).and(z1).for_each(|d, &z| {
                    if z <= 0.0 {
                        *d = 0.0;
                    }
                });
                let mut gw1 = Array2::<f32>::zeros(w1.raw_dim());
                gw1.slice_mut(s![..window_rows, ..])
                    .assign(&x0.t().dot(&dz1));
                if context {
                    let mut per_sentence = Array2::<f32>::zeros((bounds.len(), hidden_size));
                    for (k, &(o, n)) in bounds.iter().enumerate() {
                        per_sentence
                            .row_mut(k)
                            .assign(&dz1.slice(s![o..o + n, ..]).sum_axis(Axis(0)));
                    }
                    gw1.slice_mut(s![window_rows.., ..])
                        .assign(&means.t().dot(&per_sentence));
                }
                gw1.scaled_add(options.l2, w1);
                if let (Some((wl, _)), Some((ml, _))) = (&mut lexicon, &mut m_lexicon) {
                    let mut gwl = lex.t().dot(&dz1);
                    gwl.scaled_add(options.l2, wl);
                    ml.step(wl, &gwl, lr, step);
                }
                let gb1 = dz1.sum_axis(Axis(0));
                mw1.step(w1, &gw1, lr, step);
                mb1.step(b1, &gb1, lr, step);
            }
            m_w.step(&mut weights, &gw, lr, step);
            if let (Some((_, wt)), Some((_, mt))) = (&mut lexicon, &mut m_lexicon) {
                let mut gwt = lex.t().dot(&p);
                gwt.scaled_add(options.l2, wt);
                mt.step(wt, &gwt, lr, step);
            }
            m_b.step(&mut bias, &gb, lr, step);
        }
    }
    Ok(TaggerWeights {
        dim,
        tags,
        hidden,
        lexicon,
        weights,
        bias,
        transitions: transitions.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_hold_the_neighbours_and_zeros_at_the_ends() {
        let s = Array2::from_shape_vec((3, 2), vec![1., 2., 3., 4., 5., 6.]).unwrap();
        let w = windows(s.view());
        assert_eq!(w.row(0).to_vec(), vec![0., 0., 1., 2., 3., 4.]);
        assert_eq!(w.row(1).to_vec(), vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(w.row(2).to_vec(), vec![3., 4., 5., 6., 0., 0.]);
    }

    #[test]
    fn a_separable_toy_set_is_learnt() {
        // dimension 0 marks B of type 0, dimension 1 marks I, dimension 2 marks O
        let state = |k: usize| {
            let mut v = [0.0f32; 3];
            v[k] = 1.0;
            v
        };
        let mut seqs = Vec::new();
        for _ in 0..20 {
            let kinds = [2usize, 0, 1, 2];
            let flat: Vec<f32> = kinds.iter().flat_map(|&k| state(k)).collect();
            seqs.push(Sequence {
                states: Array2::from_shape_vec((4, 3), flat).unwrap(),
                lexicon: Array2::zeros((4, 0)),
                tags: vec![Some(0), Some(1), Some(2), Some(0)],
            });
        }
        for crf in [false, true] {
            let opts = TaggerOptions {
                epochs: 60,
                batch: 16,
                learning_rate: 0.05,
                crf,
                ..Default::default()
            };
            let w = fit(&seqs, 1, &opts).unwrap();
            // decoded as the parser does: Viterbi over the log probabilities and the
            // transition scores (learnt by the CRF; none here for the softmax)
            let p = w.probabilities(seqs[0].states.view(), None);
            let log: Vec<f32> = p.iter().map(|v| v.max(1e-12).ln()).collect();
            let best = bio::viterbi_with(&log, 3, &w.transitions);
            assert_eq!(best, vec![0, 1, 2, 0], "crf {crf}");
            if crf {
                // (1 + 3) × 3 scores; I → O, seen 20 times, outscores I → B, never seen,
                // and B first, never seen, is below O first
                assert_eq!(w.transitions.len(), 12);
                let t = |prev: Option<usize>, tag: usize| {
                    w.transitions[prev.map_or(0, |p| 1 + p) * 3 + tag]
                };
                assert!(t(Some(2), 0) > t(Some(2), 1), "{:?}", w.transitions);
                assert!(t(None, 0) > t(None, 1), "{:?}", w.transitions);
            } else {
                assert!(w.transitions.is_empty());
            }
            assert!(fit(&[], 1, &opts).is_err());
        }
    }
}
