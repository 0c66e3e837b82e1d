//! smalltalk: greetings, thanks, goodbyes.

use super::{Ctx, Response};
use nlu::ParseResult;

pub async fn handle(ctx: &Ctx<'_>, parse: &ParseResult) -> Response {
    let t = parse.text.to_lowercase();
    let zh = t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let text = if ["thank", "thx", "cheers", "谢"]
        .iter()
        .any(|w| t.contains(w))
    {
        if zh {
            "不客气！"
        } else {
            "You're welcome!"
        }
        .to_string()
    } else if ["bye", "see you", "good night", "再见", "拜拜"]
        .iter()
        .any(|w| t.contains(w))
    {
        if zh {
            "再见！"
        } else {
            "Bye! Runs keep going; ask me about them any time."
        }
        .to_string()
    } else if zh {
        format!(
            "你好，{}！我可以帮你运行和查看作业。试试「帮助」或「有哪些作业」。",
            ctx.msg.user
        )
    } else {
        format!(
            "Hi {}! I can run jobs, watch them and show their history. Try \"help\" or \"list jobs\".",
            ctx.msg.user
        )
    };
    Response::text(text)
}
