"""Generated everyday English for the demo store: sentiment, topic, NER and QA examples, from a small
compositional grammar over the word lists in words.py (everyday vocabulary) and lexicon.py (names, places,
organisations).

`examples(task, split, n, seed)` draws n examples. Every choice between productions (sentence shapes, clause
shapes, question shapes) is split 80/20 by a fixed hash of the production, and names, places and organisations
are split the same way: split "train" uses only the training part of each, split "heldout" only the held-out
part, so a held-out sentence is built from shapes and entities the training never saw. The everyday words
themselves (sentiment words, topic words, things, verbs) are shared: a model trained from scratch on
generated text cannot know what a word it never saw means.
"""
import random
import zlib

import lexicon as L
import words as W


def items(text):
    """A word list: one item a line or a word, or '|'-separated items (phrases)."""
    parts = text.replace("\n", "|").split("|") if "|" in text else text.split()
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def held_out(item):
    return zlib.crc32(item.encode()) % 5 == 0


def split_list(xs, part):
    """A fixed 80/20 split by a hash of each item (stable across runs and machines); a list too small to
    split is used whole by both parts."""
    if part == "all":
        return list(xs)
    held = [x for x in xs if held_out(x)]
    train = [x for x in xs if not held_out(x)]
    if not held or not train:
        return list(xs)
    return held if part == "heldout" else train


class G:
    """Everything a production draws from, for one part (train or heldout)."""

    def __init__(self, part, r):
        self.part, self.r = part, r

    def pick(self, xs):
        return self.r.choice(xs)

    def prod(self, alternatives, split=True, extra=()):
        """One production among alternatives (strings or (key, fn) pairs), held out by the hash of its key
        (split=False: kinds of sentence every part needs, e.g. negation, each with held-out phrasings inside).
        `extra`: more phrasings for training only, never split nor held out, so that the model meets many
        ways to say a thing and learns the words rather than a few templates (the held-out set is unchanged)."""
        fn = lambda a: not isinstance(a, str) and callable(a[1])  # noqa: E731
        key = lambda a: a[0] if fn(a) else str(a)  # noqa: E731
        keys = [key(a) for a in alternatives]
        if self.part == "train" and extra:
            kept = set(split_list(keys, "train") if split else keys)
            # an extra that repeats an alternative, held out or not, is dropped: it must not leak a held-out one
            alternatives = [a for a in alternatives if key(a) in kept] + [e for e in extra if key(e) not in keys]
            keys, split = [key(a) for a in alternatives], False
        chosen = self.r.choice(split_list(keys, self.part) if split else keys)
        a = alternatives[keys.index(chosen)]
        return a[1]() if fn(a) else a

    def maybe(self, p, fn, other=""):
        return fn() if self.r.random() < p else other


# ----------------------------------------------------------------------------- word tables

def verb_pairs(text):
    out = []
    for pair in text.replace("\n", "|").split("|"):
        ws = pair.split()
        if len(ws) == 2:
            out.append((ws[0], ws[1]))
    return out


def third(base):
    if base == "have":
        return "has"
    if base.endswith(("s", "sh", "ch", "x", "o")):
        return base + "es"
    if base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ies"
    return base + "s"


# verbs that say how things went (lost, broke, won, cried) would give a neutral clause a polarity
POLAR_VERBS = {"lose", "break", "miss", "forget", "win", "cry", "laugh", "smile", "fall", "hide", "hug", "kiss", "thank", "welcome", "refuse"}
VT = [v for v in dict.fromkeys(verb_pairs(W.VERBS_TRANSITIVE) + verb_pairs(W.MORE_VERBS)) if v[0] not in POLAR_VERBS]
VI = [v for v in verb_pairs(W.VERBS_INTRANSITIVE) if v[0] not in POLAR_VERBS]
PEOPLE = items(W.PEOPLE)
THINGS = list(dict.fromkeys(items(W.THINGS_EVERYDAY) + items(W.MORE_THINGS)))
PLACES = items(W.PLACES_COMMON)
TIMES = items(W.TIMES)
ADJ = list(dict.fromkeys(items(W.ADJ_NEUTRAL) + items(W.MORE_ADJ)))
ADV = items(W.ADVERBS)
POS = list(dict.fromkeys(items(W.POS_ADJ) + items(W.MORE_POS)))
NEG = [w for w in dict.fromkeys(items(W.NEG_ADJ) + items(W.MORE_NEG)) if w not in set(POS)]
ADJ = [a for a in ADJ if a not in set(POS) | set(NEG)]  # neutral words only: context must not carry polarity
POS_V = [tuple(p.split(":")) for p in W.POS_VERBS.split()]
NEG_V = [tuple(p.split(":")) for p in W.NEG_VERBS.split()]
POS_N, NEG_N = items(W.POS_NOUNS), items(W.NEG_NOUNS)
POS_PH, NEG_PH = items(W.POS_PHRASES) + items(W.MORE_POS_PHRASES), items(W.NEG_PHRASES) + items(W.MORE_NEG_PHRASES)
POS_EV, NEG_EV = items(W.POS_EVENTS), items(W.NEG_EVENTS)
INT = items(W.INTENSIFIERS)
RTHINGS = items(W.REVIEW_THINGS)
TALK = items(W.TALK)
JOBS = items(W.JOBS)
TOPICS = ["sports", "politics", "business", "science"]
# every everyday word (lower case), to tell "May" the month or "Bank" from a name
EVERYDAY = {w.lower() for k in dir(W) if k.isupper() for w in getattr(W, k).replace("|", " ").replace(":", " ").split()} | {
    w.lower() for w in (L.DAYS + " " + L.MONTHS + " " + L.ORG_SUFFIXES).split()}
TOPIC_WORDS = {t: (items(getattr(W, t.upper() + "_SUBJ")), items(getattr(W, t.upper() + "_VP")),
                   items(getattr(W, t.upper() + "_NOUNS")) + items(getattr(W, "MORE_" + t.upper())))
               for t in TOPICS}


def names(part):
    first = split_list(items(L.FIRST_NAMES), part)
    last = split_list(items(L.LAST_NAMES), part)
    cities = split_list(items(L.CITIES), part) + split_list(L.MULTI_CITIES, part)
    countries = split_list(items(L.COUNTRIES), part) + split_list(L.MULTI_COUNTRIES, part)
    orgs = split_list(items(L.ORGS), part) + split_list(L.MULTI_ORGS, part)
    return first, last, cities, countries, orgs


def more_names(listed):
    """lexicon.py's training-only names, in names()'s five lists: none that is a held-out name of any kind, a
    name already listed, or an everyday word."""
    more = (items(L.MORE_FIRST_NAMES), items(L.MORE_LAST_NAMES), items(L.MORE_CITIES) + L.MORE_MULTI_CITIES,
            items(L.MORE_COUNTRIES) + L.MORE_MULTI_REGIONS, items(L.MORE_ORGS) + L.MORE_MULTI_ORGS)
    return tuple([x for x in dict.fromkeys(m) if x not in listed and x.lower() not in EVERYDAY] for m in more)


NAMES = {p: names(p) for p in ("train", "heldout", "all")}
HELD_NAMES = {x for part in NAMES["heldout"] for x in part}
# the training part gets the training-only names, and so does "all", whose words the vocabulary leaves out
MORE_NAMES = more_names({x for part in NAMES["all"] for x in part})
NAMES.update({p: tuple(xs + more for xs, more in zip(NAMES[p], MORE_NAMES)) for p in ("train", "all")})


# ----------------------------------------------------------------------------- shared pieces

TITLES = ["Mr", "Mrs", "Ms", "Dr", "Professor", "President", "Mr.", "Dr."]


def name_words(kind, name):
    """(what goes before the name, the name's words): a title before a person's name and "the" before an
    organisation's are not part of it."""
    ws = name.split()
    if (kind == "PER" and ws[0] in TITLES) or (kind == "ORG" and ws[0] == "the"):
        return ws[:1], ws[1:]
    return [], ws

# Training only: made-up names of several words (lexicon.py's patterns), a share of each kind. Only the training
# part draws for them, so the held-out examples come out as before; one equal to a held-out name is drawn again.
MADE_UP = 0.2
_FIRST, _LAST, _CITIES, _COUNTRIES, _ORGS = NAMES["train"]


def one_words(xs):
    return [x for x in xs if " " not in x]


_ONE_WORD_PLACES = one_words(_CITIES + _COUNTRIES + _LAST)
_ONE_WORD_ORGS = one_words(_ORGS + _LAST)
_PLACES = _CITIES + _COUNTRIES


def made_up(make):
    while True:
        x = make()
        if x not in HELD_NAMES:
            return x


def made_up_person(g):
    return g.pick([lambda: f"{g.pick(_FIRST)} {g.pick(L.NAME_PARTICLES)} {g.pick(_LAST)}",
                   lambda: f"{g.pick(_FIRST)} {g.pick(_FIRST)} {g.pick(_LAST)}",
                   lambda: f"{g.pick(_FIRST)} {g.pick(_LAST)} {g.pick(_LAST)}"])()


def made_up_place(g):
    return g.pick(L.PLACE_PATTERNS).format(A=g.pick(_ONE_WORD_PLACES), B=g.pick(_ONE_WORD_PLACES))


def made_up_org(g):
    one = _ONE_WORD_ORGS
    return g.pick(L.ORG_PATTERNS).format(K=g.pick(L.ORG_KINDS), P=g.pick(_PLACES), H=g.pick(L.ORG_HEADS),
                                        F=g.pick(L.ORG_FIELDS), E=g.pick(L.ORG_ENDINGS), A=g.pick(one), A2=g.pick(one), B=g.pick(one))


def person(g):
    if g.part == "train" and g.r.random() < MADE_UP:
        return made_up(lambda: made_up_person(g))
    first, last, *_ = NAMES[g.part]
    x = g.r.random()
    if x < 0.45:
        return f"{g.pick(first)} {g.pick(last)}"
    if x < 0.85:
        return g.pick(first)
    return g.pick(TITLES) + " " + g.pick(last) if g.r.random() < 0.5 else g.pick(last)


def place(g):
    if g.part == "train" and g.r.random() < MADE_UP:
        return made_up(lambda: made_up_place(g))
    _, _, cities, countries, _ = NAMES[g.part]
    return g.pick(cities) if g.r.random() < 0.6 else g.pick(countries)


def org(g):
    if g.part == "train" and g.r.random() < MADE_UP:
        return made_up(lambda: made_up_org(g))
    _, last, _, _, orgs = NAMES[g.part]
    if g.r.random() < 0.2:
        return g.pick(last) + " " + g.pick(items(L.ORG_SUFFIXES))
    return g.pick(orgs)


def det(g):
    return g.pick(["the", "the", "the", "a", "my", "our", "this", "that", "his", "her", "their", "your"])


def thing_np(g, pool=THINGS):
    d = det(g)
    adj = g.maybe(0.3, lambda: g.pick(ADJ) + " ")
    n = g.pick(pool)
    if d == "a" and (adj or n)[0] in "aeiou":
        d = "an"
    return f"{d} {adj}{n}"


def subject(g, names_ok=True):
    """(text, singular third person?)"""
    x = g.r.random()
    if x < 0.35:
        w = g.pick(["I", "we", "you", "they", "he", "she"])
        return w, w in ("he", "she")
    if x < 0.7 or not names_ok:
        p = g.pick(PEOPLE)
        plural = p.endswith("s") or p in ("children", "police", "people")
        return f"{g.pick(['my', 'the', 'our', 'a', 'your', 'his', 'her'])} {p}", not plural
    first = NAMES[g.part][0]
    return g.pick(first), True


def be(g, sing, past=True, subj=""):
    if past:
        return "was" if sing or subj == "I" else "were"
    return "am" if subj == "I" else "is" if sing else "are"


def time(g):
    return g.pick(TIMES)


def generic_clause(g, names_ok=True):
    """A neutral everyday clause: someone did something somewhere, sometime."""
    s, sing = subject(g, names_ok)
    def transitive():
        base, past = g.pick(VT)
        return f"{s} {past} {thing_np(g)}"
    def intransitive():
        base, past = g.pick(VI)
        return f"{s} {past}" + g.maybe(0.5, lambda: " " + g.pick(ADV))
    def went():
        return f"{s} went to {g.pick(PLACES)}"
    def present():
        base, _ = g.pick(VT)
        return f"{s} {third(base) if sing else base} {thing_np(g)}" + g.maybe(0.5, lambda: " " + g.pick(['every day', 'every week', 'on Sundays', 'in the morning', 'after work']))
    def state():
        return f"{thing_np(g).capitalize() if False else thing_np(g)} {be(g, True)} {g.pick(ADJ)}"
    def future():
        base, _ = g.pick(VT)
        return f"{s} will {base} {thing_np(g)}"
    core = g.prod([("transitive", transitive), ("intransitive", intransitive), ("went", went), ("present", present),
                   ("state", state), ("future", future)], split=False)
    x = g.r.random()
    if x < 0.3:
        core += " " + time(g)
    elif x < 0.45:
        core = time(g) + " " + core
    elif x < 0.6:
        core += " at " + g.pick(PLACES) if not core.endswith(tuple(PLACES)) else ""
    return core


def cap(s):
    return s[:1].upper() + s[1:]


def finish(g, s, lower=0.12, marks=(".", ".", ".", ".", "!", "", "")):
    """Sentence case most of the time, all lower case sometimes, varied end marks (people type like that)."""
    s = cap(s.strip())
    if s[-1] not in ".!?":
        s += g.pick(list(marks))
    if g.r.random() < lower:
        s = s.lower()
    return s


# ----------------------------------------------------------------------------- sentiment

def sent_words(g, label):
    pos = label == "positive"
    return {
        "A": lambda: g.pick(POS if pos else NEG), "B": lambda: g.pick(NEG if pos else POS),
        "V": lambda: g.pick(POS_V if pos else NEG_V), "U": lambda: g.pick(NEG_V if pos else POS_V),
        "N": lambda: g.pick(POS_N if pos else NEG_N), "PH": lambda: g.pick(POS_PH if pos else NEG_PH),
        "EV": lambda: g.pick(POS_EV if pos else NEG_EV),
    }


def review_np(g):
    d = g.pick(["the", "the", "this", "that", "my", "our", "their", "the new", "your", "his", "her"])
    return f"{d} {g.pick(RTHINGS)}"


def intens(g, p=0.4):
    return g.maybe(p, lambda: g.pick(INT) + " ")


def sentiment_core(g, label):
    """One clause whose polarity is label (negation of the opposite is one way to say it)."""
    w = sent_words(g, label)
    pos = label == "positive"
    t = lambda: review_np(g)  # noqa: E731

    def subj_verb(v_index):
        s, sing = subject(g)
        return s, sing

    def plain():
        return f"{t()} {g.prod(['was', 'is', 'was', 'felt', 'looked', 'seemed', 'tasted', 'sounded'])} {intens(g)}{w['A']()}"

    def two_adj():
        return f"{t()} was {intens(g)}{w['A']()} and {w['A']()}"

    def neg_opp():
        if pos:
            return f"{t()} {g.prod(['was not', 'wasnt', 'was not', 'is not', 'was never', 'was not at all', 'was far from'])} {w['B']()}".replace("wasnt", "wasn't")
        return f"{t()} {g.prod(['was not', 'wasn’t', 'is not', 'was not very', 'was not really', 'was far from', 'was never'])} {w['B']()}".replace("’", "'")

    def not_alone():
        if pos:
            return f"not {g.prod(['bad', 'bad at all', 'too bad', 'terrible', 'boring at all', 'disappointing at all'])}"
        return f"not {g.prod(['good', 'great', 'very good', 'nice', 'worth it', 'good enough', 'fun', 'impressive', 'what i expected'])}"

    def what_a():
        n = g.pick(RTHINGS)
        a = w["A"]()
        art = "an" if a[0] in "aeiou" else "a"
        return f"{g.prod(['what', 'such'])} {art} {a} {n}" if g.r.random() < 0.5 else f"what {art} {intens(g, 0.2)}{a} {n}".replace(f"{art} {INT[0]}", f"{art} {INT[0]}")

    def adj_noun():
        return f"{intens(g, 0.3)}{w['A']()} {g.pick(RTHINGS)}"

    def adj_only():
        return f"{intens(g, 0.5)}{w['A']()}" + g.maybe(0.4, lambda: f", {w['A']()}")

    def verb_it():
        s, sing = subject(g)
        base, past = w["V"]()
        v = g.prod([past, past, base if not sing else third(base)])
        obj = g.prod(["it", "this", "that", "the " + g.pick(RTHINGS), "this " + g.pick(RTHINGS), "every minute of it", "everything about it"])
        return f"{s} {g.maybe(0.3, lambda: g.prod(['really', 'totally', 'absolutely', 'just']) + ' ')}{v} {obj}"

    def not_verb():
        # "I did not like it" (negative) / "I did not hate it" is left out: it is only mildly positive
        if pos:
            return f"{g.prod(['i', 'we', 'everyone', 'my kids'])} {g.prod(['could not stop smiling', 'could not stop laughing', 'had no complaints', 'never wanted it to end', 'did not want to leave'], extra=['could not stop grinning', 'could not put it down', 'did not regret it', 'could not be happier', 'never stopped laughing', 'had no regrets', 'did not want it to stop', 'could not stop talking about it', 'never got bored', 'did not miss a thing'])}"
        s, _ = subject(g)
        base, past = g.pick(POS_V)
        neg = g.prod(["did not", "didn't", "do not", "don't", "never", "could not", "can't", "would not"])
        v = past if neg == "never" else base
        return f"{s} {neg} {v} {g.prod(['it', 'the ' + g.pick(RTHINGS), 'this ' + g.pick(RTHINGS), 'it at all', 'anything about it'])}"

    def noun():
        return f"{t()} {g.prod(['was', 'is', 'was', 'turned out to be', 'was just', 'was really'])} {w['N']()}"

    def phrase():
        return w["PH"]()

    def event():
        s = g.prod(["i", "we", "my sister", "my brother", "he", "she", "my friend", "our son", "our daughter", "my dad", "my mom"])
        return f"{g.maybe(0.3, lambda: g.prod(['today', 'yesterday', 'this morning', 'finally', 'last week']) + ' ')}{s} {w['EV']()}"

    def best():
        sup = g.prod(["best", "greatest", "nicest", "finest", "most beautiful"] if pos else ["worst", "most boring", "ugliest", "most annoying", "saddest"])
        return f"{g.prod(['this is', 'it was', 'that was', 'by far'])} the {sup} {g.pick(RTHINGS)} {g.prod(['ever', 'i have ever had', 'i have ever seen', 'in years', 'in town', 'of my life'])}"

    def feeling():
        s, sing = subject(g)
        return f"{s} {be(g, sing, g.r.random() < 0.6, s)} {intens(g)}{w['A']()} {g.prod(['with', 'about'])} {t()}"

    def too():
        if pos:
            return f"{t()} was {g.prod(['good enough', 'just right', 'better than expected', 'even better than i hoped', 'as good as they say'])}"
        return f"{t()} was {g.prod(['too', 'way too', 'far too', 'a bit too', 'much too'], extra=['just too', 'a little too', 'rather too', 'simply too', 'overly', 'really too', 'all too'])} {g.prod(['slow', 'loud', 'expensive', 'long', 'boring', 'cold', 'salty', 'noisy', 'small', 'dirty', 'crowded', 'late', 'short', 'sweet', 'greasy'], extra=['hot', 'dark', 'hard', 'busy', 'old', 'quiet', 'dry', 'rough'])}"

    def made_me():
        f = g.prod(["smile", "laugh", "happy", "so happy", "feel great", "feel at home", "want to dance"] if pos else
                   ["cry", "sick", "angry", "sad", "so angry", "feel sick", "want to leave", "fall asleep"],
                   extra=["grin", "feel good", "feel alive", "cheer", "want to sing", "so glad", "feel young"] if pos else
                   ["weep", "feel awful", "want to scream", "yawn", "feel bad", "so sad", "feel cheated", "want my money back"])
        return f"{t()} made me {f}"

    def could():
        return f"{t()} {'could not have been better' if pos else 'could have been much better'}" if g.r.random() < 0.5 else \
            f"{g.prod(['i', 'we'])} {'would' if pos else 'would never'} {g.prod(['recommend', 'buy', 'watch', 'visit', 'try', 'order'])} {g.prod(['it', 'this ' + g.pick(RTHINGS), 'it again', 'it to a friend'])}"

    return g.prod([("plain", plain), ("two_adj", two_adj), ("neg_opp", neg_opp), ("not_alone", not_alone), ("what_a", what_a),
                   ("adj_noun", adj_noun), ("adj_only", adj_only), ("verb_it", verb_it), ("not_verb", not_verb),
                   ("noun", noun), ("phrase", phrase), ("event", event), ("best", best), ("feeling", feeling),
                   ("too", too), ("made_me", made_me), ("could", could)], split=False)


def sentiment_sentence(g, label):
    opp = "negative" if label == "positive" else "positive"
    one = lambda: sentiment_core(g, label)  # noqa: E731
    return g.prod([
        ("single", one), ("single2", one), ("single3", one),
        ("and", lambda: f"{one()} and {one()}"),
        ("comma", lambda: f"{one()}, {one()}"),
        ("but", lambda: f"{sentiment_core(g, opp)}, but {one()}"),
        ("although", lambda: f"{g.prod(['although', 'even though', 'while'])} {sentiment_core(g, opp)}, {one()}"),
        ("context", lambda: f"{generic_clause(g)} and {one()}"),
        ("context2", lambda: f"{finish(g, generic_clause(g), 0)} {cap(one())}"),
        ("two", lambda: f"{finish(g, one(), 0)} {cap(one())}"),
        ("honestly", lambda: f"{g.prod(['honestly', 'to be honest', 'well', 'wow', 'oh', 'overall', 'in the end', 'all in all', 'so', 'anyway'])}, {one()}"),
        ("but_end", lambda: f"{g.prod(['i expected more', 'i had doubts', 'i was not sure at first', 'it looked bad at first'] if label == 'positive' else ['it looked nice', 'the reviews were good', 'i had high hopes', 'it started well'])}, but {one()}"),
    ], split=False)  # every kind in both parts; the phrasings inside them are split


def sentiment(part, n, seed):
    g = G(part, random.Random(seed))
    out = []
    for i in range(n):
        label = "positive" if i % 2 == 0 else "negative"
        out.append({"text": finish(g, sentiment_sentence(g, label), marks=(".", ".", "!", "!", "", "...")), "label": label})
    g.r.shuffle(out)
    return out


# ----------------------------------------------------------------------------- topic

def topic_sentence(g, label):
    subj, vp, nouns = TOPIC_WORDS[label]
    S = lambda: g.pick(subj)  # noqa: E731
    V = lambda: g.pick(vp)  # noqa: E731
    N = lambda: g.pick(nouns)  # noqa: E731
    core = lambda: g.prod([  # noqa: E731
        ("sv", lambda: f"{S()} {V()}"),
        ("svt", lambda: f"{S()} {V()} {time(g)}"),
        ("tsv", lambda: f"{time(g)} {S()} {V()}"),
        ("sv_in", lambda: f"{S()} {V()} in {place(g)}"),
        ("name", lambda: f"{person(g)} {V()}"),
        ("svv", lambda: f"{S()} {V()} and {V()}"),
    ])
    s, _ = subject(g)
    return g.prod([
        ("core", core), ("core2", core),
        ("talk", lambda: f"{s} {g.pick(TALK)} the {N()}" + g.maybe(0.4, lambda: " " + time(g))),
        ("noun_pred", lambda: f"the {N()} {g.prod(['was in the news again', 'is all over the news', 'was on tv last night', 'is the big story today', 'is big news this week', 'was the main topic at dinner', 'is on everyone’s mind'.replace('’', chr(39))])}"),
        ("headline", lambda: f"{N()}: {core()}"),
        ("nouns", lambda: f"{N()}, {N()} and {N()}"),
        ("seen", lambda: f"{g.prod(['did you see that', 'did you hear that', 'i read that', 'my dad told me that', 'the radio said that', 'i cannot believe'])} {core()}"),
        ("report", lambda: f"{core()}, {g.prod(['the news said', 'reports say', 'according to the paper', 'people said', 'my friend told me'])}"),
        ("after", lambda: f"after the {N()}, {core()}"),
        ("context", lambda: f"{generic_clause(g, False)} and {core()}" if g.r.random() < 0.5 else f"{core()}, and {generic_clause(g, False)}"),
        ("two", lambda: f"{finish(g, core(), 0)} {cap(core())}"),
        ("question", lambda: f"{g.prod(['who won', 'what happened with', 'what do you think about', 'any news about', 'have you heard about'])} the {N()}?"),
        ("about", lambda: f"{g.prod(['a story about', 'news about', 'an article on', 'a debate about', 'a report on', 'the latest on'])} the {N()}" + g.maybe(0.5, lambda: f" and the {N()}")),
    ])


def topic(part, n, seed):
    g = G(part, random.Random(seed))
    out = []
    for i in range(n):
        label = TOPICS[i % 4]
        out.append({"text": finish(g, topic_sentence(g, label)), "label": label})
    g.r.shuffle(out)
    return out


# ----------------------------------------------------------------------------- NER

NER_FROM_FACTS = 0.35  # the share of NER sentences that are QA facts with their entities tagged
# all-lower-case sentences: more of them in training, where names in lower case are the hardest to learn
LOWER = {"train": 0.15, "heldout": 0.06, "all": 0.06}
NER_TEMPLATES = [
    "{PER} lives in {LOC}", "{PER} works for {ORG}", "{PER} flew from {LOC} to {LOC} {TIME}", "{ORG} opened a new office in {LOC}",
    "{TIME} {PER} met {PER} in {LOC}", "{PER} joined {ORG} {TIME}", "{ORG} hired {PER} as its new manager",
    "{PER} and {PER} moved to {LOC}", "i saw {PER} at {PLACE} {TIME}", "{PER} visited {LOC} with friends",
    "{ORG} is based in {LOC}", "{PER} called {PER} from {LOC}", "{PER} said {ORG} will grow in {LOC}",
    "my friend {PER} studies in {LOC}", "{PER} bought shares of {ORG}", "{TIME} {PER} drove to {LOC}",
    "{PER} left {ORG} and joined {ORG}", "{PER} is the new boss of {ORG}", "we stayed in {LOC} for a week",
    "the weather in {LOC} was {ADJ}", "{ORG} sold its shares to {ORG}", "the meeting with {PER} was in {LOC}",
    "{PER} loves {LOC}", "nobody from {ORG} came to the party", "{PER} was born in {LOC}",
    "after leaving {ORG}, {PER} started a cafe in {LOC}", "{PER} will speak at {ORG} next week",
    "{TIME} {PER} went hiking near {LOC}", "{ORG} signed a deal with {ORG} in {LOC}", "{PER} and i had lunch in {LOC}",
    "a letter from {PER} arrived from {LOC}", "{PER} {VT} {NP} {TIME}", "{PER} {VT} {NP} in {LOC}",
    "{S} {VT} {NP} from {ORG}", "{S} met {PER} at {PLACE}", "{PER} gave {NP} to {PER}", "{PER} told {PER} about {LOC}",
    "{PER} works as {JOB} in {LOC}", "{PER} is {JOB} at {ORG}", "{PER}, the head of {ORG}, said the plan was {ADJ}",
    "according to {PER}, {ORG} will open a store in {LOC}", "{ORG} {BVP}", "{PER} {SVP}", "{PER} {SVP} in {LOC}",
    "{PER} {PVP}", "{S} flew to {LOC} {TIME}", "{PER} grew up in {LOC} and now lives in {LOC}",
    "{PER} studied at {ORG}", "the {ORG} office in {LOC} is closed {TIME}", "{S} {VT} {NP} with {PER}",
    "{PER} wrote a book about {LOC}", "did you hear that {PER} moved to {LOC}?", "{PER} is from {LOC}",
    "{PER} married {PER} in {LOC}", "{ORG} bought {ORG} {TIME}", "{ORG} fired {PER}", "{PER} sued {ORG}",
    "{PER} and {PER} work for {ORG} in {LOC}", "{TIME} {ORG} announced a new phone", "{PER} thanked {ORG} for the help",
    "{S} {VT} {NP} {TIME}", "{S} went to {PLACE} {TIME}", "{LOC} is {ADJ} in the summer", "{PER} took the train to {LOC}",
    "{PER} spent the summer in {LOC} with {PER}", "the flight from {LOC} to {LOC} was late", "{PER} runs a small shop in {LOC}",
    "{PER} sent {NP} to {PER} in {LOC}", "{ORG} and {ORG} are rivals", "{PER} invited {PER} to {LOC}",
    "{PER} played for {ORG} for ten years", "thanks to {PER}, we found a flat in {LOC}", "{PER} has never been to {LOC}",
]


# Training only (the held-out set keeps the templates' held-out shapes): organisations and people as the
# subject of everyday verbs, organisations dealing with each other, sentences that begin with an everyday word.
NER_EXTRA = 0.2
NER_EXTRA_TEMPLATES = [
    "{ORG} {VT} {NP} {TIME}", "{ORG} bought {NP}", "{ORG} acquired {ORG}", "{ORG} sold {NP} to {ORG}", "{ORG} moved to {LOC}",
    "{ORG} will open {NP} in {LOC}", "{ORG} said {S} {VT} {NP}", "{ORG} thanked {PER}", "{ORG} paid {PER} {TIME}",
    "{ORG} lost {NP}", "{ORG} grew in {LOC} {TIME}", "{ORG} beat {ORG} {TIME}", "{ORG} told {PER} about {LOC}",
    "{ORG} and {PER} met in {LOC}", "{PER} said {ORG} {VT} {NP}", "everyone at {ORG} {VT} {NP}", "someone at {ORG} called {PER}",
    "nobody at {ORG} knew {PER}", "somebody from {LOC} {VT} {NP}", "everybody in {LOC} {VT} {NP}", "nothing in {LOC} {VT} {PER}",
    "yesterday {ORG} {VT} {NP}", "today {PER} and {ORG} {VT} {NP}", "{ORG} {VT} {NP} with {PER} in {LOC}",
    # people as the subject of the same verbs, so that a verb alone does not say "organisation"
    "{PER} {VT} {NP}", "{PER} bought {NP} {TIME}", "{PER} lost {NP} in {LOC}", "{PER} opened {NP}", "{PER} sold {NP} to {PER}",
    "{PER} borrowed {NP} from {PER}", "{PER} {VT} {NP} at {PLACE}", "yesterday {PER} {VT} {NP}", "{PER} paid for {NP} {TIME}",
    "{PER} told {ORG} about {NP}", "{PER} beat {PER} at tennis", "{PER} moved from {LOC} to {LOC}", "{PER} will open {NP} in {LOC}",
    # organisations doing business with each other, and people from them
    "{ORG} took over {ORG}", "{ORG} merged with {ORG} {TIME}", "{ORG} invested in {ORG}", "{ORG} bought a stake in {ORG}",
    "{ORG} sued {ORG} in {LOC}", "{ORG} and {ORG} signed a deal", "{ORG} sold {ORG} to {ORG}", "{ORG} won a contract from {ORG}",
    "someone from {ORG} came to the meeting", "two people from {ORG} called {PER}", "a man from {ORG} visited {LOC}",
    "the team from {ORG} arrived {TIME}", "everyone from {ORG} went to {LOC}",
]


# what a template's other slots take
NER_FILLS = {
    "{TIME}": lambda g: time(g), "{PLACE}": lambda g: g.pick(PLACES), "{ADJ}": lambda g: g.pick(ADJ + POS[:40] + NEG[:40]),
    "{VT}": lambda g: g.pick(VT)[1], "{NP}": lambda g: thing_np(g), "{S}": lambda g: subject(g, False)[0],
    "{JOB}": lambda g: g.pick(JOBS), "{BVP}": lambda g: g.pick(TOPIC_WORDS["business"][1]),
    "{SVP}": lambda g: g.pick(TOPIC_WORDS["sports"][1]), "{PVP}": lambda g: g.pick(TOPIC_WORDS["politics"][1]),
}


def add_name(toks, tags, kind, name):
    lead, ws = name_words(kind, name)
    toks += lead + ws
    tags += ["O"] * len(lead) + ["B-" + kind] + ["I-" + kind] * (len(ws) - 1)


def ner_sentence(g, templates=NER_TEMPLATES, split=True):
    template = g.prod(templates, split)
    toks, tags = [], []
    for piece in template.replace(",", " ,").replace("?", " ?").split():
        kind = {"{PER}": "PER", "{LOC}": "LOC", "{ORG}": "ORG"}.get(piece)
        if kind:
            add_name(toks, tags, kind, {"PER": person, "LOC": place, "ORG": org}[kind](g))
            continue
        ws = NER_FILLS[piece](g).split() if piece in NER_FILLS else [piece]
        toks += ws
        tags += ["O"] * len(ws)
    if g.r.random() < 0.15:  # a neutral clause before or after
        extra = generic_clause(g, False).split()
        if g.r.random() < 0.5:
            toks, tags = extra + [","] + toks, ["O"] * (len(extra) + 1) + tags
        else:
            toks, tags = toks + ["and"] + extra, tags + ["O"] * (len(extra) + 1)
    toks[0] = cap(toks[0])
    if toks[-1] not in (".", "?", "!"):
        mark = g.pick([".", ".", ".", "!", ""])
        if mark:
            toks.append(mark)
            tags.append("O")
    if g.r.random() < LOWER[g.part]:
        toks = [w.lower() for w in toks]
    return toks, tags


def words_of(sentence):
    return sentence.replace(".", " .").replace("!", " !").replace("?", " ?").replace(",", " ,").replace("'s ", " 's ").split()


def tag_entities(toks, entities):
    """BIO tags for the words of `entities` ((kind, text) pairs) wherever they occur in toks; a title before a
    name and "the" before an organisation are not part of it."""
    tags = ["O"] * len(toks)
    for kind, text in entities:
        ws = name_words(kind, text)[1]
        for i in range(len(toks) - len(ws) + 1):
            if toks[i:i + len(ws)] == ws and all(t == "O" for t in tags[i:i + len(ws)]):
                tags[i:i + len(ws)] = ["B-" + kind] + ["I-" + kind] * (len(ws) - 1)
    return tags


def ner_fact(g):
    """A QA fact sentence ("Omar is the CEO of Reyes Media.") with its entities tagged: the facts' own phrasings,
    another grammar than the NER templates, so the tagger learns entities from more kinds of context."""
    ents = distinct_entities(g)
    s, _ = qa_fact(g, *ents)
    toks = words_of(s)
    known = [("PER", ents[0]), ("PER", ents[1]), ("LOC", ents[2]), ("ORG", ents[3])] + [("LOC", x) for c in CAPITALS for x in c]
    tags = tag_entities(toks, known)
    if g.r.random() < 0.06:
        toks = [w.lower() for w in toks]
    return toks, tags


def ner(part, n, seed):
    """Word-level BIO tags: O, B-PER, I-PER, B-LOC, I-LOC, B-ORG, I-ORG."""
    g = G(part, random.Random(seed))
    out = []
    for _ in range(n):
        if g.r.random() < 0.08:  # sentences with no entity at all
            ws = words_of(finish(g, generic_clause(g, False), 0))
            out.append({"tokens": ws, "tags": ["O"] * len(ws)})
            continue
        # the held-out set stays made of the templates' held-out shapes only
        if part == "train" and g.r.random() < NER_EXTRA:
            toks, tags = ner_sentence(g, NER_EXTRA_TEMPLATES, split=False)  # training-only shapes: all of them
        else:
            toks, tags = ner_fact(g) if part == "train" and g.r.random() < NER_FROM_FACTS else ner_sentence(g)
        out.append({"tokens": toks, "tags": tags})
    return out


# ----------------------------------------------------------------------------- QA

NUMBERS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty"] + [str(i) for i in range(2, 60)]
MOTION = [("go", "went"), ("travel", "travelled"), ("fly", "flew"), ("drive", "drove"), ("move", "moved"), ("walk", "walked"),
          ("return", "returned"), ("get", "got"), ("run", "ran"), ("cycle", "cycled"), ("sail", "sailed"), ("come", "came")]
COUNTABLE = ["apples", "books", "tickets", "eggs", "cakes", "shirts", "chairs", "cars", "dogs", "cats", "letters", "songs",
             "pictures", "bottles", "cookies", "flowers", "pens", "bikes", "houses", "children", "sisters", "brothers", "rooms"]


CAPITALS = [("Paris", "France"), ("Berlin", "Germany"), ("Madrid", "Spain"), ("Rome", "Italy"), ("Lisbon", "Portugal"), ("Dublin", "Ireland"),
            ("London", "England"), ("Warsaw", "Poland"), ("Vienna", "Austria"), ("Athens", "Greece"), ("Cairo", "Egypt"), ("Nairobi", "Kenya"),
            ("Tokyo", "Japan"), ("Beijing", "China"), ("Seoul", "South Korea"), ("New Delhi", "India"), ("Ottawa", "Canada"), ("Canberra", "Australia"),
            ("Mexico City", "Mexico"), ("Lima", "Peru"), ("Oslo", "Norway"), ("Stockholm", "Sweden"), ("Helsinki", "Finland"), ("Moscow", "Russia"),
            ("Kyiv", "Ukraine"), ("Bangkok", "Thailand"), ("Hanoi", "Vietnam"), ("Jakarta", "Indonesia"), ("Buenos Aires", "Argentina"), ("Santiago", "Chile"),
            ("Prague", "Czech Republic"), ("Budapest", "Hungary"), ("Copenhagen", "Denmark"), ("Amsterdam", "Netherlands"), ("Brussels", "Belgium")]


def strip_prep(t):
    for p in ("on ", "in ", "at "):
        if t.startswith(p) and t != "in the morning" and t != "in the evening":
            return t[len(p):]
    return t


def qa_fact(g, p, p2, loc, o):
    """(sentence, [(question, answer)]): an event with the questions it answers; answers are spans of it."""
    tm = time(g) if g.r.random() < 0.6 else str(g.r.randint(1950, 2025)) if g.r.random() < 0.5 else ""
    tm_phrase = ("in " + tm) if tm.isdigit() else tm
    ans_t = tm if tm.isdigit() else strip_prep(tm)

    def when(q):
        return [(q, ans_t)] if tm else []

    def at_end(s):
        return f"{s} {tm_phrase}" if tm and g.r.random() < 0.7 else (f"{cap(tm_phrase)}, {s}" if tm else s)

    def go():
        base, past = g.pick(MOTION)
        s = at_end(f"{p} {past} to {loc}")
        qs = [(g.prod(["Where did {p} {b}?", "Where did {p} {b} to?", "To which place did {p} {b}?", "Which city did {p} {b} to?",
                       "Where has {p} gone?".replace("gone", "been") if base == "go" else "Where did {p} {b}?"]).format(p=p, b=base), loc),
              (g.prod(["Who {v} to {l}?", "Which person {v} to {l}?", "Who was it that {v} to {l}?"]).format(v=past, l=loc), p)]
        return s, qs + when(g.prod(["When did {p} {b} to {l}?", "When did {p} {b}?"]).format(p=p, b=base, l=loc))

    def live():
        verb, qv = g.prod([("lives in", "Where does {p} live?"), ("lived in", "Where did {p} live?"), ("grew up in", "Where did {p} grow up?"),
                           ("was born in", "Where was {p} born?"), ("stayed in", "Where did {p} stay?"), ("works in", "Where does {p} work?"),
                           ("studied in", "Where did {p} study?")])
        s = at_end(f"{p} {verb} {loc}")
        qs = [(qv.format(p=p), loc), (g.prod(["Who {v} {l}?", "Which person {v} {l}?"]).format(v=verb, l=loc), p)]
        return s, qs + when(f"When {'was' if verb == 'was born in' else 'did'} {p} {'born' if verb == 'was born in' else verb.split()[0]}?".replace(" lives", " live").replace(" lived", " live").replace(" grew", " grow up").replace(" stayed", " stay").replace(" works", " work").replace(" studied", " study").replace("did " + p + " born", "was " + p + " born"))

    def work():
        verb, q1, q2 = g.prod([("works for", "Who does {p} work for?", "Who works for {o}?"), ("works at", "Where does {p} work?", "Who works at {o}?"),
                               ("joined", "Which company did {p} join?", "Who joined {o}?"), ("founded", "What did {p} found?", "Who founded {o}?"),
                               ("left", "Which company did {p} leave?", "Who left {o}?"), ("runs", "What does {p} run?", "Who runs {o}?")],
                              extra=[("worked for", "Who did {p} work for?", "Who worked for {o}?"), ("writes for", "Who does {p} write for?", "Who writes for {o}?"),
                                     ("plays for", "Who does {p} play for?", "Who plays for {o}?"), ("is employed by", "Who is {p} employed by?", "Who is employed by {o}?"),
                                     ("volunteers for", "Who does {p} volunteer for?", "Who volunteers for {o}?"), ("is a member of", "What is {p} a member of?", "Who is a member of {o}?"),
                                     ("cleans for", "Who does {p} clean for?", "Who cleans for {o}?"), ("bought", "What did {p} buy?", "Who bought {o}?")])
        s = at_end(f"{p} {verb} {o}")
        qs = [(q1.format(p=p), o), (q2.format(o=o), p)]
        if verb in ("joined", "founded", "left", "bought"):
            qs += when(f"When did {p} {dict(joined='join', founded='found', left='leave', bought='buy')[verb]} {o}?")
        return s, qs

    def obj():
        base, past = g.pick(VT)
        np = thing_np(g)
        where = g.maybe(0.4, lambda: "at " + g.pick(PLACES))
        s = at_end(f"{p} {past} {np}" + (f" {where}" if where else ""))
        qs = [(f"What did {p} {base}?", np), (g.prod(["Who {v} {n}?", "Which person {v} {n}?"]).format(v=past, n=np), p)]
        if where:
            qs.append((f"Where did {p} {base} {np}?", where[3:]))
        return s, qs + when(f"When did {p} {base} {np}?")

    def give():
        base, past = g.prod([("give", "gave"), ("send", "sent"), ("lend", "lent"), ("sell", "sold"), ("show", "showed"), ("bring", "brought")],
                            extra=[("pass", "passed"), ("hand", "handed"), ("post", "posted"), ("offer", "offered"), ("throw", "threw"), ("mail", "mailed"),
                                   ("read", "read"), ("teach", "taught"), ("leave", "left"), ("promise", "promised")])
        np = thing_np(g)
        s = at_end(f"{p} {past} {np} to {p2}")
        return s, [(g.prod(["Who did {p} {b} {n} to?", "To whom did {p} {b} {n}?", "Who got {n}?"],
                           extra=["Who received {n}?", "Whom did {p} {b} {n} to?", "Who was {n} for?", "Which person got {n} from {p}?"]).format(p=p, b=base, n=np), p2),
                   (f"What did {p} {base} to {p2}?", np), (f"Who {past} {np} to {p2}?", p)] + when(f"When did {p} {base} {np} to {p2}?")

    def meet():
        base, past = g.prod([("meet", "met"), ("call", "called"), ("visit", "visited"), ("help", "helped"), ("marry", "married"), ("see", "saw"), ("invite", "invited")])
        where = g.r.random() < 0.6
        s = at_end(f"{p} {past} {p2}" + (f" in {loc}" if where else ""))
        qs = [(f"Who did {p} {base}?", p2), (f"Who {past} {p2}?", p)]
        if where:
            qs.append((g.prod(["Where did {p} {b} {q}?", "In which city did {p} {b} {q}?"]).format(p=p, b=base, q=p2), loc))
        return s, qs + when(f"When did {p} {base} {p2}?")

    def count():
        k = g.pick(NUMBERS)
        thing = g.pick(COUNTABLE)
        base, past = g.prod([("buy", "bought"), ("have", "has"), ("sell", "sold"), ("find", "found"), ("see", "saw"), ("make", "made")],
                            extra=[("lose", "lost"), ("keep", "kept"), ("get", "got"), ("win", "won"), ("need", "needed"), ("paint", "painted"),
                                   ("collect", "collected"), ("count", "counted"), ("order", "ordered"), ("carry", "carried"), ("draw", "drew")])
        aux = "does" if past == "has" else "did"
        s = at_end(f"{p} {past} {k} {thing}")
        return s, [(f"How many {thing} {aux} {p} {base}?", k)]

    def age():
        k = str(g.r.randint(3, 95))
        return f"{p} is {k} years old", [(g.prod(["How old is {p}?", "What is the age of {p}?"], extra=["What is {p}'s age?", "How many years old is {p}?"]).format(p=p), k)]

    def price():
        k = f"{g.r.randint(2, 900)} {g.prod(['dollars', 'euros', 'pounds'], extra=['francs', 'yen', 'rupees', 'pesos', 'crowns', 'dinars', 'cents', 'shillings', 'coins', 'rand'])}"
        n = g.pick(RTHINGS)
        return f"The {n} cost {k}", [(g.prod(["How much did the {n} cost?", "What was the price of the {n}?"],
                                             extra=["How much was the {n}?", "What did the {n} cost?", "What did they pay for the {n}?", "How expensive was the {n}?"]).format(n=n), k)]

    def job():
        j = g.pick(JOBS)
        where = g.r.random() < 0.5
        s = f"{p} is {j}" + (f" in {loc}" if where else "")
        qs = [(g.prod(["What does {p} do?", "What is the job of {p}?", "What is {p}'s job?"],
                      extra=["What does {p} do for a living?", "What is the work of {p}?", "What is {p}?"]).format(p=p), j), (f"Who is {j}?", p)]
        if where:
            qs.append((f"Where does {p} work as {j}?", loc))
        return s, qs

    def org_fact():
        verb, q = g.prod([("opened an office in", "Where did {o} open an office?"), ("is based in", "Where is {o} based?"),
                          ("built a factory in", "Where did {o} build a factory?"), ("has its headquarters in", "Where are the headquarters of {o}?")])
        s = at_end(f"{o} {verb} {loc}")
        return s, [(q.format(o=o), loc), (f"Which company {verb} {loc}?", o)] + when(f"When did {o} {verb.split()[0].replace('opened', 'open').replace('built', 'build')} {' '.join(verb.split()[1:])} {loc}?" if verb.split()[0] in ("opened", "built") else "")

    def capital():
        c, k = g.pick(CAPITALS)
        return f"{c} is the capital of {k}", [(g.prod(["What is the capital of {k}?", "Which city is the capital of {k}?"],
                                                      extra=["What is {k}'s capital?", "Name the capital of {k}.", "Which is the capital city of {k}?",
                                                             "The capital of {k} is which city?", "Tell me the capital of {k}."]).format(k=k), c),
                                              (f"{c} is the capital of which country?", k)]

    def favourite():
        what, options = g.pick([("colour", ["blue", "red", "green", "yellow", "purple", "black", "orange", "pink"]),
                                ("food", ["pizza", "pasta", "sushi", "curry", "soup", "chocolate", "rice", "pancakes"]),
                                ("sport", ["tennis", "football", "golf", "swimming", "basketball", "cycling", "hockey"]),
                                ("animal", ["the cat", "the dog", "the horse", "the owl", "the tiger", "the dolphin"]),
                                ("city", [loc])])
        x = g.pick(options)
        return f"{p}'s favourite {what} is {x}", [(g.prod(["What is {p}'s favourite {w}?", "What {w} does {p} like best?"],
                                                          extra=["What is the favourite {w} of {p}?", "Which {w} does {p} love most?"]).format(p=p, w=what), x),
                                                  (f"Whose favourite {what} is {x}?", p)]

    def leads():
        role = g.pick(["the CEO", "the head", "the boss", "the president", "the founder", "the director", "the chair"])
        return f"{p} is {role} of {o}", [(f"Who is {role} of {o}?", p), (g.prod(["Which company does {p} lead?", "What does {p} run?"]).format(p=p), o)]

    def event_time():
        ev = g.pick(["the meeting", "the party", "the concert", "the match", "the exam", "the wedding", "the show", "the dinner", "the flight", "the lesson"])
        tm2 = g.pick(["on Saturday", "on Monday", "at 3 pm", "at 8 o'clock", "at noon", "in March", "next Friday", "tomorrow", "tonight", "in the evening"])
        verb = g.pick(["is", "starts", "begins", "was"])
        ans = strip_prep(tm2)
        aux = "was" if verb == "was" else "does" if verb != "is" else "is"
        q = f"When {aux} {ev}{' ' + verb[:-1] if verb in ('starts', 'begins') else ''}?"
        return f"{cap(ev)} {verb} {tm2}", [(q, ans)]

    def thing_place():
        th = g.pick(["the keys", "my phone", "the book", "her bag", "the cat", "the car", "the tickets", "his glasses", "the money", "the dog"])
        pl = g.pick(PLACES)
        verb = "are" if th.endswith("s") and not th.endswith("glass") else "is"
        return f"{cap(th)} {verb} in {pl}" if not pl.startswith("home") else f"{cap(th)} {verb} at home", \
            [(f"Where {verb} {th}?", pl if not pl.startswith("home") else "home")]

    s, qs = g.prod([("capital", capital), ("favourite", favourite), ("leads", leads), ("event_time", event_time), ("thing_place", thing_place), ("go", go), ("live", live), ("work", work), ("obj", obj), ("give", give), ("meet", meet), ("count", count),
                    ("age", age), ("price", price), ("job", job), ("org", org_fact)], split=False)
    qs = [(q, a) for q, a in qs if q and a]
    return finish(g, s, 0, marks=(".",)), qs


def distinct_entities(g, used=None):
    """Two people, a place and an organisation, none inside another or inside one already used."""
    used = set() if used is None else used
    ents = []
    for f in (person, person, place, org):
        e = f(g)
        while e in used or any(e in u or u in e for u in used):
            e = f(g)
        used.add(e)
        ents.append(e)
    return ents


def qa(part, n, seed):
    g = G(part, random.Random(seed))
    out = []
    while len(out) < n:
        k = g.r.randint(1, 3)
        used = set()
        facts = []
        for _ in range(k):
            facts.append(qa_fact(g, *distinct_entities(g, used)))
        sentences = [f[0] for f in facts]
        for _ in range(g.r.choice([0, 0, 1, 1, 2])):
            sentences.insert(g.r.randint(0, len(sentences)), finish(g, generic_clause(g, False), 0, marks=(".",)))
        context = " ".join(sentences)
        target = g.pick(facts)
        if not target[1]:
            continue
        question, answer = g.pick(target[1])
        start_fact = context.index(target[0])
        if answer not in target[0]:
            continue
        start = context.index(answer, start_fact)
        if context.count(answer) > 1 and context.index(answer) != start:
            continue  # the same words twice: ambiguous
        if g.r.random() < 0.1:
            question = question.lower()
        out.append({"question": question, "context": context, "answer": answer, "start": start})
    return out


TASKS = {"sentiment": sentiment, "topic": topic, "ner": ner, "qa": qa}


def examples(task, part, n, seed):
    return TASKS[task](part, n, seed)


def corpus(n_each, seed):
    """Plain sentences for masked-language-model pre-training: every task's training sentences and neutral ones."""
    out = []
    for e in sentiment("train", n_each, seed + 1):
        out.append(e["text"])
    for e in topic("train", n_each, seed + 2):
        out.append(e["text"])
    for e in ner("train", n_each, seed + 3):
        out.append(" ".join(e["tokens"]).replace(" .", ".").replace(" ,", ",").replace(" ?", "?").replace(" !", "!"))
    for e in qa("train", n_each, seed + 4):
        out.append(e["context"])
        out.append(e["question"])
    g = G("train", random.Random(seed + 5))
    for _ in range(n_each):
        out.append(finish(g, generic_clause(g)))
    return out


# ----------------------------------------------------------------------------- names never seen

class NameMaker:
    """New names in the letters of the training names (a character trigram chain), for training only: a
    held-out name reaches the model as its letters alone, and a model that met a few hundred names learns
    those names, where one that met thousands learns what a person's, a place's or an organisation's name
    looks like. None is a listed name of any kind (held out or not) or an everyday word."""

    def __init__(self, names, order=3):
        self.order, self.next = order, {}
        for x in names:
            s = "^" * order + x + "$"
            for i in range(len(s) - order):
                self.next.setdefault(s[i:i + order], []).append(s[i + order])

    def __call__(self, r):
        while True:
            s = "^" * self.order
            while not s.endswith("$") and len(s) < 20:
                s += r.choice(self.next[s[-self.order:]])
            x = s.strip("^$")
            if 3 <= len(x) <= 12 and x not in ALL_NAMES and x.lower() not in EVERYDAY:
                return x


ALL_NAMES = {x for part in NAMES["all"] for x in part}  # every listed name, held out or not, and the training-only ones
NEW_NAMES = {"first": NameMaker(one_words(_FIRST)), "last": NameMaker(one_words(_LAST)),
             "LOC": NameMaker(one_words(_PLACES)), "ORG": NameMaker(one_words(_ORGS))}


# Training only, for the base's pre-training: names in sentences that do not say what they name, so the only
# way to tell a person from a place or an organisation is the name itself. Half are listed training names, half
# new ones (NameMaker): the base learns what names of each kind look like, not only which ones it was shown.
NAME_FRAMES = [
    "{X}", "{X} .", "i know {X}", "{X} is famous", "{X} was in the news {TIME}", "we talked about {X}", "everyone talks about {X}",
    "have you heard of {X} ?", "a story about {X}", "{X} again", "this is about {X}", "{X} is on the list", "{X} and {Y}",
    "the list : {X} , {Y} and {Z}", "{S} read about {X} {TIME}", "{X} was mentioned twice", "not {X} again", "the name {X} came up",
    "{X} , {Y}", "{X} or {Y} ?", "what about {X} ?", "{X} , {Y} , {Z}", "i wrote {X} on the card", "nothing about {X}",
]


def new_name(g, kind):
    if kind == "PER":
        return NEW_NAMES["first"](g.r) + (" " + NEW_NAMES["last"](g.r) if g.r.random() < 0.4 else "")
    return NEW_NAMES[kind](g.r)


def name_examples(n, seed):
    g = G("train", random.Random(seed))
    out = []
    for _ in range(n):
        toks, tags = [], []
        for piece in g.pick(NAME_FRAMES).split():
            if piece in ("{X}", "{Y}", "{Z}"):
                kind = g.pick(["PER", "PER", "LOC", "ORG"])
                add_name(toks, tags, kind, new_name(g, kind) if g.r.random() < 0.5 else {"PER": person, "LOC": place, "ORG": org}[kind](g))
            else:
                ws = NER_FILLS[piece](g).split() if piece in NER_FILLS else [piece]
                toks += ws
                tags += ["O"] * len(ws)
        toks[0] = cap(toks[0])
        if g.r.random() < LOWER["train"]:
            toks = [w.lower() for w in toks]
        out.append({"tokens": toks, "tags": tags})
    return out
