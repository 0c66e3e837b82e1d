//! The public-benchmark readers on the real datasets vendored in `datasets/`: the published
//! split sizes. A missing folder fails the test with the way to get it back.

use nlu::eval::datasets::{default_datasets_dir, Dataset, OosMode, OUT_OF_SCOPE};

fn datasets() -> std::path::PathBuf {
    default_datasets_dir().expect(
        "the vendored datasets/ folder (clinc150/, snips_jointbert/, banking77/) is missing: \
         restore it with `git checkout -- datasets` or point $NLU_DATASETS at a copy",
    )
}

#[test]
fn clinc150_split_sizes() {
    let root = datasets();
    let s = Dataset::Clinc150
        .read(&root.join("clinc150"), OosMode::Class)
        .unwrap();
    assert_eq!(
        (s.train.len(), s.val.len(), s.test.len()),
        (15_100, 3_100, 5_500)
    );
    assert_eq!(s.train_labels().len(), 151);
    assert_eq!(s.train_labels().last().unwrap(), OUT_OF_SCOPE);
    let s = Dataset::Clinc150
        .read(&root.join("clinc150"), OosMode::Threshold)
        .unwrap();
    assert_eq!(s.train.len(), 15_000);
    assert_eq!(s.train_labels().len(), 150);
    assert_eq!(
        s.test.iter().filter(|e| e.label == OUT_OF_SCOPE).count(),
        1_000
    );
}

#[test]
fn snips_and_banking77_split_sizes() {
    let root = datasets();
    let s = Dataset::Snips
        .read(&root.join("snips_jointbert"), OosMode::Class)
        .unwrap();
    assert_eq!(
        (s.train.len(), s.val.len(), s.test.len()),
        (13_084, 700, 700)
    );
    assert_eq!(s.train_labels().len(), 7);
    let s = Dataset::Banking77
        .read(&root.join("banking77"), OosMode::Class)
        .unwrap();
    assert_eq!(
        (s.train.len(), s.val.len(), s.test.len()),
        (10_003, 0, 3_080)
    );
    assert_eq!(s.train_labels().len(), 77);
}
