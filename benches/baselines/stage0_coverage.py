"""How much of the ChatOps traffic could a sparse n-gram head answer without the encoder,
and how accurately? A measurement for the speed work (a cascade whose first stage is such a
head): a TF-IDF word (1-2) + character (1-4) n-gram logistic regression on training-data/,
scored 5-fold out-of-fold, on the dev file (tests/data/intents-dev.jsonl, the tuning set),
and, for coverage only, on benches/chat-corpus.txt.

usage: .cache/bench-venv/bin/python benches/baselines/stage0_coverage.py   (after setup.sh)
"""
import glob, json, re, sys
from pathlib import Path
import numpy as np, yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from scipy.sparse import hstack

root = str(Path(__file__).resolve().parents[2])
def strip(t):  # Rasa annotations -> text
    t = re.sub(r'\[([^\]]*)\]\{[^}]*\}', r'\1', t)
    return re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', t)
X, y = [], []
for f in sorted(glob.glob(f'{root}/training-data/*/*.yml')):
    d = yaml.safe_load(open(f))
    for b in d.get('nlu', []):
        if 'intent' in b:
            for l in b['examples'].split('\n'):
                l = l.strip()
                if l.startswith('- '):
                    X.append(strip(l[2:]).lower()); y.append(b['intent'])
y = np.array(y)
word = TfidfVectorizer(analyzer='word', ngram_range=(1, 2), token_pattern=r'(?u)\b\w+\b|[^\w\s]', sublinear_tf=True)
char = TfidfVectorizer(analyzer='char_wb', ngram_range=(1, 4), sublinear_tf=True)
def feats(fit, texts):
    if fit:
        return hstack([word.fit_transform(texts), char.fit_transform(texts)]).tocsr()
    return hstack([word.transform(texts), char.transform(texts)]).tocsr()
oof = np.zeros((len(X), len(set(y))))
classes = sorted(set(y))
for tr, te in StratifiedKFold(5, shuffle=True, random_state=17).split(X, y):
    A = feats(True, [X[i] for i in tr])
    m = LogisticRegression(C=20, max_iter=2000).fit(A, y[tr])
    oof[te] = m.predict_proba(feats(False, [X[i] for i in te]))
pred = np.array(classes)[oof.argmax(1)]
conf = oof.max(1)
print(f'OOF accuracy of the sparse head alone: {np.mean(pred == y):.3f} on {len(y)} examples')
for t in [0.6, 0.7, 0.8, 0.85, 0.9, 0.95]:
    c = conf >= t
    print(f'  t={t}: answers {c.mean():.1%}, accuracy there {np.mean(pred[c] == y[c]):.3f}')
A = feats(True, X)
m = LogisticRegression(C=20, max_iter=2000).fit(A, y)
dev = [json.loads(l) for l in open(f'{root}/tests/data/intents-dev.jsonl')]
p = m.predict_proba(feats(False, [c['text'].lower() for c in dev]))
dp, dc = np.array(classes)[p.argmax(1)], p.max(1)
dy = np.array([c['intent'] for c in dev])
for t in [0.8, 0.9, 0.95]:
    c = dc >= t
    print(f'  dev t={t}: answers {c.mean():.1%}, accuracy there {np.mean(dp[c] == dy[c]):.3f}')
chat = [l.strip() for l in open(f'{root}/benches/chat-corpus.txt') if l.strip() and not l.startswith('#')]
pc = m.predict_proba(feats(False, [t.lower() for t in chat])).max(1)
for t in [0.8, 0.9, 0.95]:
    print(f'  chat corpus t={t}: answers {np.mean(pc >= t):.1%} of {len(chat)}')
