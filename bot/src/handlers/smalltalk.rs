//! smalltalk: greetings, thanks, goodbyes.

use super::{Ctx, Response};
use nlu::ParseResult;

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    let t = parse.text.to_lowercase();
    let lang = ctx.lang;
    let text = if ["thank", "thx", "cheers", "谢"]
        .iter()
        .any(|w| t.contains(w))
    {
        tr!(lang, "smalltalk-thanks")
    } else if ["bye", "see you", "good night", "再见", "拜拜"]
        .iter()
        .any(|w| t.contains(w))
    {
        tr!(lang, "smalltalk-bye")
    } else {
        tr!(lang, "smalltalk-hello", user = &ctx.msg.user)
    };
    Response::text(text)
}
