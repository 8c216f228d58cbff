"""Generated everyday English for the demo store: sentiment, topic, NER and QA examples.

`examples(task, split, n, seed)` draws n examples. split "train" uses the training part of every word list and
the training templates; split "heldout" uses only held-out words where a list has them (names, places,
organisations, sentiment and topic words, things) and only held-out templates, so a held-out sentence is never
a training sentence with other slots filled in.
"""
import random
import zlib

import lexicon as L


def words(s):
    return s.split()


def split_list(items, part):
    """A fixed 80/20 split of a word list by a hash of each word (stable across runs and machines)."""
    held = [w for w in items if zlib.crc32(w.encode()) % 5 == 0]
    train = [w for w in items if zlib.crc32(w.encode()) % 5 != 0]
    return held if part == "heldout" else train


def dedupe(xs):
    return list(dict.fromkeys(xs))


class Vocab:
    def __init__(self, part):
        p = part
        # Sentiment and topic words are shared by both parts: a model trained from scratch on generated text
        # cannot know what a word it never saw means. Held-out sentences differ in their templates and in
        # every combination; names, places and organisations (NER, QA) are held out themselves.
        self.pos = dedupe(words(L.POSITIVE))
        self.neg = dedupe(words(L.NEGATIVE))
        self.pos_verbs = words(L.POS_VERBS)
        self.neg_verbs = words(L.NEG_VERBS)
        self.pos_nouns = words(L.POS_NOUNS)
        self.neg_nouns = words(L.NEG_NOUNS)
        self.things = dedupe(words(L.THINGS))
        self.intens = words(L.INTENSIFIERS)
        self.topics = {t: dedupe(words(getattr(L, t.upper()))) for t in ("sports", "politics", "business", "science")}
        self.first = split_list(dedupe(words(L.FIRST_NAMES)), p)
        self.last = split_list(dedupe(words(L.LAST_NAMES)), p)
        self.cities = split_list(dedupe(words(L.CITIES)), p) + split_list(L.MULTI_CITIES, p)
        self.countries = split_list(dedupe(words(L.COUNTRIES)), p) + split_list(L.MULTI_COUNTRIES, p)
        self.orgs = split_list(dedupe(words(L.ORGS)), p) + split_list(L.MULTI_ORGS, p)
        self.org_suffixes = words(L.ORG_SUFFIXES)
        self.objects = list(L.OBJECTS)
        self.days = words(L.DAYS)
        self.months = words(L.MONTHS)


VOCABS = {}


def vocab(part):
    if part not in VOCABS:
        VOCABS[part] = Vocab(part)
    return VOCABS[part]


def cap(s):
    return s[:1].upper() + s[1:]


def finish(s, r):
    """Sentence case most of the time, all lower case sometimes (people type like that)."""
    s = cap(s)
    if r.random() < 0.15:
        s = s.lower()
    return s


# ----------------------------------------------------------------------------- sentiment

def sentiment_templates(part):
    # {P} a positive adjective, {N} a negative one, {T} a thing, {I} an intensifier,
    # {PV}/{NV} verbs, {PN}/{NN} nouns; the label is the template's.
    pos_train = [
        "the {T} was {P}.", "{P} {T}!", "i {PV} this {T}.", "what a {P} {T}.", "this {T} is {I} {P}.",
        "it was a {PN}.", "{P}, {P} and {P}.", "i {PV} it.", "we {PV} the {T}, it was {P}.",
        "the {T} was not {N} at all.", "a {P} {T} with a {P} {T}.", "{I} {P}, i would go again.",
        "the {T} is {P} and the {T} is {P}.", "absolutely {P}.", "five stars, {P} {T}.", "my kids {PV} the {T}.",
        "the {T} was {I} {P} and {P}.", "it is the most {P} {T} i have seen.", "i would {PVB} it to anyone.",
    ]
    neg_train = [
        "the {T} was {N}.", "{N} {T}.", "i {NV} this {T}.", "what a {N} {T}.", "this {T} is {I} {N}.",
        "it was a {NN}.", "{N}, {N} and {N}.", "i {NV} it.", "we {NV} the {T}, it was {N}.",
        "the {T} was not {P} at all.", "a {N} {T} with a {N} {T}.", "{I} {N}, never again.",
        "the {T} is {N} and the {T} is {N}.", "absolutely {N}.", "one star, {N} {T}.", "i did not {PVB} the {T}.",
        "the {T} was {I} {N} and {N}.", "it is the most {N} {T} i have seen.", "do not waste your money on this {T}.",
    ]
    pos_held = [
        "honestly, the {T} felt {P}.", "such a {P} {T}!", "we found the {T} {P}.", "our {T} was {P} from start to finish.",
        "i have to say the {T} was {P}.", "really {P} {T}, thank you.", "everyone here {PVD} it.",
    ]
    neg_held = [
        "honestly, the {T} felt {N}.", "such a {N} {T}!", "we found the {T} {N}.", "our {T} was {N} from start to finish.",
        "i have to say the {T} was {N}.", "really {N} {T}, no thanks.", "everyone here {NVD} it.",
    ]
    if part == "heldout":
        return [(t, "positive") for t in pos_held] + [(t, "negative") for t in neg_held]
    return [(t, "positive") for t in pos_train] + [(t, "negative") for t in neg_train]


BASE_VERB = {"love": "love", "loved": "love", "adore": "adore", "adored": "adore", "enjoy": "enjoy", "enjoyed": "enjoy",
             "like": "like", "liked": "like", "recommend": "recommend", "recommended": "recommend", "admire": "admire",
             "admired": "admire", "appreciate": "appreciate", "appreciated": "appreciate", "treasure": "treasure",
             "cherish": "cherish", "praise": "praise"}


def fill_sentiment(t, v, r):
    out = t
    for key, pick in (("{PVD}", lambda: r.choice([x for x in v.pos_verbs if x.endswith("d")])),
                      ("{NVD}", lambda: r.choice([x for x in v.neg_verbs if x.endswith("d")])), ("{PVB}", lambda: BASE_VERB[r.choice(v.pos_verbs)]), ("{PV}", lambda: r.choice(v.pos_verbs)),
                      ("{NV}", lambda: r.choice(v.neg_verbs)), ("{PN}", lambda: r.choice(v.pos_nouns)),
                      ("{NN}", lambda: r.choice(v.neg_nouns)), ("{P}", lambda: r.choice(v.pos)), ("{N}", lambda: r.choice(v.neg)),
                      ("{T}", lambda: r.choice(v.things)), ("{I}", lambda: r.choice(v.intens))):
        while key in out:
            out = out.replace(key, pick(), 1)
    return out


def sentiment(part, n, seed):
    r = random.Random(seed)
    v = vocab(part)
    ts = sentiment_templates(part)
    out = []
    for _ in range(n):
        t, label = r.choice(ts)
        out.append({"text": finish(fill_sentiment(t, v, r), r), "label": label})
    return out


# ----------------------------------------------------------------------------- topic

TOPIC_TRAIN = [
    "the {a} and the {b} were in the news on {day}.", "{name} spoke about the {a} and the {b}.",
    "a new {a} changed the {b} this week.", "officials said the {a} would affect the {b}.",
    "the {a} {b} made headlines in {city}.", "experts discussed the {a}, the {b} and the {c}.",
    "{name} said the {a} was important for the {b}.", "the latest {a} surprised the {b}.",
    "news about the {a} and {b} from {city}.", "{a} {b} {c}", "the {a} will meet the {b} next {month}.",
    "after the {a}, the {b} and the {c} changed.", "people in {city} talked about the {a} all day.",
]
TOPIC_HELD = [
    "reports on the {a} and the {b} came out of {city} today.", "why the {a} matters for the {b}.",
    "{name} wrote a long article about the {a}.", "the {a} is back, and so is the {b}.",
    "what the {a} means for the {b} this {month}.",
]
TOPICS = ["sports", "politics", "business", "science"]


def topic(part, n, seed):
    r = random.Random(seed)
    v = vocab(part)
    ts = TOPIC_HELD if part == "heldout" else TOPIC_TRAIN
    out = []
    for _ in range(n):
        label = r.choice(TOPICS)
        ws = v.topics[label]
        s = r.choice(ts)
        s = s.replace("{a}", r.choice(ws)).replace("{b}", r.choice(ws)).replace("{c}", r.choice(ws))
        s = s.replace("{name}", r.choice(v.first)).replace("{city}", r.choice(v.cities))
        s = s.replace("{day}", r.choice(v.days)).replace("{month}", r.choice(v.months))
        out.append({"text": finish(s, r), "label": label})
    return out


# ----------------------------------------------------------------------------- NER

NER_TRAIN = [
    "{PER} lives in {LOC}.", "{PER} works for {ORG}.", "{PER} flew from {LOC} to {LOC}.",
    "{ORG} opened a new office in {LOC}.", "yesterday {PER} met {PER} in {LOC}.", "{PER} joined {ORG} last year.",
    "{ORG} hired {PER} as its new manager.", "{PER} and {PER} moved to {LOC}.", "i saw {PER} at the {ORG} store in {LOC}.",
    "{PER} visited {LOC} with friends.", "{ORG} is based in {LOC}.", "the {ORG} team travelled to {LOC} on {day}.",
    "{PER} called {PER} from {LOC}.", "{PER} said {ORG} will grow in {LOC}.", "my friend {PER} studies in {LOC}.",
    "{PER} bought shares of {ORG}.", "on {day} {PER} drove to {LOC}.", "{PER} left {ORG} and joined {ORG}.",
    "{PER} is the new boss of {ORG}.", "we stayed in {LOC} for a week.", "the weather in {LOC} was nice.",
    "{ORG} sold its shares to {ORG}.", "the meeting with {PER} was in {LOC}.", "{PER} loves {LOC}.",
    "nobody from {ORG} came to the party.", "it rained all week.", "the bus was late again.",
]
NER_HELD = [
    "{PER} was born in {LOC}.", "after leaving {ORG}, {PER} started a cafe in {LOC}.", "{PER} will speak at {ORG} next week.",
    "last summer {PER} went hiking near {LOC}.", "{ORG} signed a deal with {ORG} in {LOC}.", "{PER} and I had lunch in {LOC}.",
    "a letter from {PER} arrived from {LOC}.",
]


def person(v, r):
    x = r.random()
    if x < 0.45:
        return [r.choice(v.first), r.choice(v.last)]
    if x < 0.85:
        return [r.choice(v.first)]
    return [r.choice(v.last)]


def place(v, r):
    return (r.choice(v.cities) if r.random() < 0.6 else r.choice(v.countries)).split()


def org(v, r):
    if r.random() < 0.2:
        return [r.choice(v.last), r.choice(v.org_suffixes)]
    return r.choice(v.orgs).split()


def ner(part, n, seed):
    """Word-level BIO tags: O, B-PER, I-PER, B-LOC, I-LOC, B-ORG, I-ORG."""
    r = random.Random(seed)
    v = vocab(part)
    ts = NER_HELD if part == "heldout" else NER_TRAIN
    out = []
    for _ in range(n):
        t = r.choice(ts).replace("{day}", r.choice(v.days))
        toks, tags = [], []
        lower = r.random() < 0.1
        for i, piece in enumerate(t.replace(".", " .").replace(",", " ,").split()):
            kind = {"{PER}": "PER", "{LOC}": "LOC", "{ORG}": "ORG"}.get(piece)
            if kind:
                ws = person(v, r) if kind == "PER" else place(v, r) if kind == "LOC" else org(v, r)
                for j, w in enumerate(ws):
                    toks.append(w)
                    tags.append(("B-" if j == 0 else "I-") + kind)
            else:
                toks.append(cap(piece) if i == 0 else piece)
                tags.append("O")
        if lower:
            toks = [w.lower() for w in toks]
        out.append({"tokens": toks, "tags": tags})
    return out


# ----------------------------------------------------------------------------- QA

def qa_facts(v, r, part):
    """Fact sentences, each with questions whose answer is a span of the fact."""
    p = " ".join(person(v, r))
    p2 = " ".join(person(v, r))
    while p2 == p:
        p2 = " ".join(person(v, r))
    loc = " ".join(place(v, r))
    o = " ".join(org(v, r))
    obj = r.choice(v.objects)
    day = r.choice(v.days)
    year = str(r.randint(1950, 2024))
    age = str(r.randint(5, 90))
    price = str(r.randint(2, 900))
    thing = r.choice(v.things)
    spot = r.choice(["door", "station", "office", "park", "library", "bank", "airport", "beach", "market", "school"])
    train = [
        (f"{p} lives in {loc}.", [(f"Where does {p} live?", loc), (f"Who lives in {loc}?", p)]),
        (f"{p} works for {o}.", [(f"Who does {p} work for?", o), (f"Where does {p} work?", o), (f"Who works for {o}?", p)]),
        (f"{p} bought {obj} on {day}.", [(f"What did {p} buy?", obj), (f"When did {p} buy {obj}?", day), (f"Who bought {obj}?", p)]),
        (f"{p} was born in {year}.", [(f"When was {p} born?", year), (f"Who was born in {year}?", p)]),
        (f"{p} is {age} years old.", [(f"How old is {p}?", age)]),
        (f"The {thing} costs {price} dollars.", [(f"How much does the {thing} cost?", f"{price} dollars")]),
        (f"{p} is at the {spot}.", [(f"Who is at the {spot}?", p), (f"Where is {p}?", f"the {spot}")]),
        (f"{p} met {p2} in {loc}.", [(f"Who did {p} meet?", p2), (f"Where did {p} meet {p2}?", loc)]),
        (f"{o} opened an office in {loc} in {year}.", [(f"Where did {o} open an office?", loc), (f"When did {o} open an office in {loc}?", year)]),
    ]
    held = [
        (f"{p} moved to {loc} in {year}.", [(f"Where did {p} move?", loc), (f"When did {p} move to {loc}?", year)]),
        (f"{p} has worked at {o} since {year}.", [(f"Which company does {p} work at?", o), (f"Who has worked at {o} since {year}?", p)]),
        (f"On {day}, {p} gave {obj} to {p2}.", [(f"What did {p} give to {p2}?", obj), (f"Who got {obj}?", p2)]),
        (f"{p} is waiting at the {spot}.", [(f"Who is waiting at the {spot}?", p), (f"Where is {p} waiting?", f"the {spot}")]),
    ]
    return held if part == "heldout" else train


FILLER = ["It was a sunny day.", "The streets were busy.", "Everyone was in a good mood.", "Nobody expected rain.",
          "The coffee was hot.", "A dog barked outside.", "The train was on time.", "Music played in the background."]


def qa(part, n, seed):
    r = random.Random(seed)
    v = vocab(part)
    out = []
    while len(out) < n:
        k = r.randint(1, 3)
        facts = [qa_facts(v, r, part) for _ in range(k)]
        chosen = [r.choice(f) for f in facts]
        sentences = [c[0] for c in chosen]
        if r.random() < 0.5:
            sentences.insert(r.randint(0, len(sentences)), r.choice(FILLER))
        context = " ".join(sentences)
        target = r.choice(chosen)
        question, answer = r.choice(target[1])
        # the answer's span inside its own fact sentence, located in the context
        start_fact = context.index(target[0])
        start = context.index(answer, start_fact)
        out.append({"question": question, "context": context, "answer": answer, "start": start})
    return out


TASKS = {"sentiment": sentiment, "topic": topic, "ner": ner, "qa": qa}


def examples(task, part, n, seed):
    return TASKS[task](part, n, seed)


def corpus(n_each, seed):
    """Plain sentences for masked-language-model pre-training: every task's training sentences."""
    out = []
    for e in sentiment("train", n_each, seed + 1):
        out.append(e["text"])
    for e in topic("train", n_each, seed + 2):
        out.append(e["text"])
    for e in ner("train", n_each, seed + 3):
        out.append(" ".join(e["tokens"]).replace(" .", ".").replace(" ,", ","))
    for e in qa("train", n_each, seed + 4):
        out.append(e["context"])
        out.append(e["question"])
    return out
