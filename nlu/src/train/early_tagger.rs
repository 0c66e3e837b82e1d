//! The early stage's entity tagger: a tagger of the same kind as the full one, trained on
//! the token states after the encoder's exit layer, so that the early head can answer a
//! text that holds a reason or a domain without the rest of the encoder
//! ([`cascade::EarlyTagger`]).
//!
//! Its threshold, on the probability of the decoded tag sequence, is chosen out of fold on
//! the examples of the tagger's intents ([`cascade::early_tagger_threshold`]): the rows it
//! lets through may hold at most the cascade's budget of spans that differ from the
//! annotated ones.

use super::{fold_assignment, TokenStates, TrainOptions, TrainedEarly};
use crate::classifier::cascade;
use crate::classifier::encoder::Encoder;
use crate::error::{NluError, Result};
use crate::result::IntentName;
use crate::tagger::bio::TypedSpan;
use crate::tagger::train::{train, TaggerOptions};
use crate::tagger::{decode_scored, TaggerMeta};

/// The token states after the exit layer of each text (the encoder must be cut there). The
/// early segment runs again here (its layers only: about a millisecond a text) rather than
/// the embedding pass keeping every text's states, which a benchmark's tens of thousands of
/// texts do not need.
fn early_states(encoder: &Encoder, texts: &[String]) -> Result<Vec<TokenStates>> {
    crate::parallel::parallel_map(texts, |text| {
        let tokens = encoder.tokenize(text)?;
        let early = encoder.encode_early(&tokens)?;
        Ok(TokenStates {
            spans: tokens.spans,
            states: early.hidden.index_axis(ndarray::Axis(0), 0).to_owned(),
        })
    })
}

/// Fits the early tagger on the examples as written (`texts`, their annotated spans and
/// intents, in order) for the types and intents of the full tagger (`full`), and sets it on
/// `early` (its weights, and its entry in `model.json` on the exit). Leaves `early` without one when the examples of the tagger's intents are fewer
/// than the folds in either group (with spans, without), or when no threshold keeps to the
/// budget.
pub(super) fn fit(
    early: &mut TrainedEarly,
    encoder: &Encoder,
    texts: &[String],
    annotations: &[Vec<TypedSpan>],
    intents: &[IntentName],
    full: &TaggerMeta,
    options: &TrainOptions,
) -> Result<()> {
    if texts.len() != annotations.len() || texts.len() != intents.len() {
        return Err(NluError::Training(format!(
            "{} texts, {} annotation lists and {} intents for the early tagger",
            texts.len(),
            annotations.len(),
            intents.len()
        )));
    }
    let folds = options.folds.max(2);
    // 0: another intent, 1: the tagger's intents without spans, 2: with spans
    let groups: Vec<usize> = intents
        .iter()
        .zip(annotations)
        .map(|(i, a)| match (full.intents.contains(i), a.is_empty()) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => 2,
        })
        .collect();
    let count = |g: usize| groups.iter().filter(|&&x| x == g).count();
    if count(1) < folds || count(2) < folds {
        return Ok(());
    }
    let states = early_states(encoder, texts)?;
    let tagger_options = TaggerOptions::default();
    let assignment = fold_assignment(&groups, 3, folds, options.seed);
    let jobs: Vec<Option<usize>> = (0..folds).map(Some).chain([None]).collect();
    let mut fitted = crate::parallel::parallel_map(&jobs, |job| {
        let rows: Vec<usize> = (0..texts.len())
            .filter(|&i| job.is_none_or(|f| assignment[i] != f))
            .collect();
        train(
            &rows.iter().map(|&i| texts[i].as_str()).collect::<Vec<_>>(),
            rows.iter().map(|&i| states[i].clone()).collect(),
            &rows
                .iter()
                .map(|&i| annotations[i].clone())
                .collect::<Vec<_>>(),
            &rows.iter().map(|&i| intents[i].clone()).collect::<Vec<_>>(),
            full.types.clone(),
            &tagger_options,
        )
    })?;
    let mut rows = Vec::new();
    for (job, trained) in jobs.iter().zip(&fitted) {
        let Some(f) = job else { continue };
        let matcher = trained.matcher()?;
        for i in (0..texts.len()).filter(|&i| assignment[i] == *f && groups[i] > 0) {
            let st = &states[i];
            let lexicon = matcher
                .as_ref()
                .map(|m| m.features(&texts[i], &st.spans, st.states.nrows()));
            let probs = trained
                .weights
                .probabilities(st.states.view(), lexicon.as_ref().map(|l| l.view()));
            let (spans, probability) = decode_scored(
                &texts[i],
                &states[i].spans,
                &probs,
                &trained.meta.transitions,
            );
            let mut got: Vec<TypedSpan> = spans.into_iter().map(|(s, _)| s).collect();
            let mut want = annotations[i].clone();
            got.sort_unstable();
            want.sort_unstable();
            rows.push(cascade::TaggedRow {
                probability,
                correct: got == want,
            });
        }
    }
    let Some((threshold, mut calibration)) =
        cascade::early_tagger_threshold(&rows, options.cascade_budget)
    else {
        tracing::info!("no threshold keeps the early tagger within the budget");
        return Ok(());
    };
    calibration.with_spans = count(2);
    let last = fitted
        .pop()
        .ok_or_else(|| NluError::Training("the early tagger's final fit is missing".into()))?;
    tracing::info!(
        threshold,
        answered = calibration.answered,
        wrong = calibration.wrong,
        "early tagger"
    );
    early.tagger = Some(last.weights);
    early.exit.tagger = Some(cascade::EarlyTagger {
        meta: last.meta,
        threshold,
        calibration,
    });
    Ok(())
}
