//! Embedding `nlu` for your own assistant: train a model from Rasa YAML (here the smart-home
//! assistant of `examples/smart-home`, English and Chinese), load it, and parse.
//!
//! ```sh
//! cargo run -p nlu --example smart_home                       # a few sample requests
//! cargo run -p nlu --example smart_home -- "dim the lounge to 40%" "把卧室的灯关了"
//! ```
//! Training takes a few seconds (the encoder embeds each example once); the model directory
//! is written to the system's temporary folder.

use std::path::Path;

fn main() -> Result<(), nlu::NluError> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/smart-home");
    let model = std::env::temp_dir().join("nlu-smart-home-model");
    let options = nlu::train::TrainOptions {
        progress: false,
        ..Default::default()
    };
    nlu::train::train_dir(&data, &model, &nlu::default_encoder_dir()?, &options)?;
    let parser = nlu::Parser::load(&model)?;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let samples = [
        "switch on the lights in the lounge",
        "turn the kitchn light off",
        "make the bedroom 22 degrees",
        "will it rain in Beijing tomorrow?",
        "打开客厅的灯",
        "把卧室的温度调到二十度",
        "上海明天天气怎么样",
        "order me a taxi",
    ];
    let texts: Vec<&str> = if args.is_empty() {
        samples.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    for text in texts {
        let r = parser.parse(text)?;
        let entities: Vec<String> = r
            .entities
            .iter()
            .map(|e| format!("{}={} ({:?})", e.entity, e.value, e.text))
            .collect();
        println!(
            "{text:<40} {:<16} {:.2} {:?} {}",
            r.intent.name.as_str(),
            r.intent.confidence,
            r.outcome,
            entities.join(", ")
        );
    }
    Ok(())
}
