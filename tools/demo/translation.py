"""Generated English→German sentence pairs for the demo's translation model and its domain adapters
(Bapna & Firat's setting: one frozen translation model, one small adapter per domain).

A small grammar over hand-written lists: nouns with their German gender, adjectives, verbs with their
German forms, subjects and times; sentences are statements, descriptions, negations, places and questions,
with German agreement (article and adjective endings by gender and case, verb forms by person).

Some English words mean different things by domain, and German says them differently:

    word      general (the base model)   sports               legal
    court     der Hof                    der Platz            das Gericht
    match     das Streichholz            das Spiel            -
    coach     der Reisebus               der Trainer          -
    table     der Tisch                  die Tabelle          -
    goal      das Ziel                   das Tor              -
    record    die Schallplatte           der Rekord           die Akte
    case      der Koffer                 -                    der Fall
    sentence  der Satz                   -                    das Urteil
    trial     der Versuch                -                    der Prozess

The base model is trained on general sentences (every noun, these words in their general sense); the
`sports` and `legal` adapters on their domain's sentences, where these words take the domain's sense. A
held-out set per domain holds sentences that are not in any training set.
"""
import random

# English noun: (German noun, gender m/f/n)
GENERAL = {
    "dog": ("Hund", "m"), "cat": ("Katze", "f"), "house": ("Haus", "n"), "car": ("Auto", "n"), "book": ("Buch", "n"),
    "chair": ("Stuhl", "m"), "door": ("Tür", "f"), "window": ("Fenster", "n"), "garden": ("Garten", "m"),
    "kitchen": ("Küche", "f"), "city": ("Stadt", "f"), "street": ("Straße", "f"), "train": ("Zug", "m"),
    "bus": ("Bus", "m"), "apple": ("Apfel", "m"), "bread": ("Brot", "n"), "coffee": ("Kaffee", "m"),
    "tea": ("Tee", "m"), "water": ("Wasser", "n"), "room": ("Zimmer", "n"), "bed": ("Bett", "n"),
    "phone": ("Telefon", "n"), "computer": ("Computer", "m"), "letter": ("Brief", "m"), "bag": ("Tasche", "f"),
    "key": ("Schlüssel", "m"), "shop": ("Laden", "m"), "school": ("Schule", "f"), "teacher": ("Lehrer", "m"),
    "child": ("Kind", "n"), "woman": ("Frau", "f"), "man": ("Mann", "m"), "doctor": ("Arzt", "m"),
    "film": ("Film", "m"), "song": ("Lied", "n"), "picture": ("Bild", "n"), "flower": ("Blume", "f"),
    "tree": ("Baum", "m"), "river": ("Fluss", "m"), "lake": ("See", "m"), "mountain": ("Berg", "m"),
    "hotel": ("Hotel", "n"), "restaurant": ("Restaurant", "n"), "soup": ("Suppe", "f"), "cake": ("Kuchen", "m"),
    "shirt": ("Hemd", "n"), "jacket": ("Jacke", "f"), "shoe": ("Schuh", "m"), "clock": ("Uhr", "f"),
    "lamp": ("Lampe", "f"), "box": ("Kiste", "f"), "bottle": ("Flasche", "f"), "cup": ("Tasse", "f"),
    "plate": ("Teller", "m"), "bike": ("Fahrrad", "n"), "boat": ("Boot", "n"), "bridge": ("Brücke", "f"),
    "village": ("Dorf", "n"), "party": ("Party", "f"), "garage": ("Garage", "f"), "office": ("Büro", "n"),
    "park": ("Park", "m"), "station": ("Bahnhof", "m"), "museum": ("Museum", "n"), "church": ("Kirche", "f"),
    "milk": ("Milch", "f"), "cheese": ("Käse", "m"), "horse": ("Pferd", "n"), "bird": ("Vogel", "m"),
}
SPORTS_NOUNS = {
    "team": ("Mannschaft", "f"), "player": ("Spieler", "m"), "ball": ("Ball", "m"), "stadium": ("Stadion", "n"),
    "referee": ("Schiedsrichter", "m"), "fan": ("Fan", "m"), "season": ("Saison", "f"), "race": ("Rennen", "n"),
    "club": ("Verein", "m"), "trophy": ("Pokal", "m"), "league": ("Liga", "f"), "runner": ("Läufer", "m"),
}
LEGAL_NOUNS = {
    "judge": ("Richter", "m"), "lawyer": ("Anwalt", "m"), "law": ("Gesetz", "n"), "witness": ("Zeuge", "m"),
    "police": ("Polizei", "f"), "prison": ("Gefängnis", "n"), "contract": ("Vertrag", "m"), "crime": ("Verbrechen", "n"),
    "jury": ("Jury", "f"), "statement": ("Aussage", "f"), "fine": ("Strafe", "f"), "thief": ("Dieb", "m"),
}
# the words whose German depends on the domain
SENSES = {
    "general": {"court": ("Hof", "m"), "match": ("Streichholz", "n"), "coach": ("Reisebus", "m"), "table": ("Tisch", "m"),
                "goal": ("Ziel", "n"), "record": ("Schallplatte", "f"), "case": ("Koffer", "m"), "sentence": ("Satz", "m"),
                "trial": ("Versuch", "m")},
    "sports": {"court": ("Platz", "m"), "match": ("Spiel", "n"), "coach": ("Trainer", "m"), "table": ("Tabelle", "f"),
               "goal": ("Tor", "n"), "record": ("Rekord", "m")},
    "legal": {"court": ("Gericht", "n"), "record": ("Akte", "f"), "case": ("Fall", "m"), "sentence": ("Urteil", "n"),
              "trial": ("Prozess", "m")},
}
DOMAIN_NOUNS = {"sports": SPORTS_NOUNS, "legal": LEGAL_NOUNS}
# places a thing can be in (dative after "in")
PLACES = ["garden", "kitchen", "city", "street", "room", "house", "car", "bag", "box", "shop", "school", "office",
          "park", "station", "museum", "hotel", "village", "garage", "church", "restaurant"]
SPORTS_PLACES = ["stadium", "court", "club", "league"]
LEGAL_PLACES = ["court", "prison", "contract", "statement", "record", "case"]

# English adjective: German (regular: the attributive form adds the ending to it)
ADJ = {"big": "groß", "small": "klein", "old": "alt", "new": "neu", "long": "lang", "short": "kurz", "good": "gut",
       "bad": "schlecht", "loud": "laut", "quiet": "leise", "full": "voll", "empty": "leer", "cold": "kalt", "warm": "warm",
       "cheap": "billig", "beautiful": "schön", "important": "wichtig", "fast": "schnell", "slow": "langsam",
       "clean": "sauber", "dirty": "schmutzig", "famous": "berühmt", "strange": "seltsam", "nice": "nett",
       "difficult": "schwierig", "easy": "einfach", "hard": "hart", "fair": "fair", "young": "jung", "strong": "stark",
       "green": "grün", "red": "rot", "white": "weiß", "black": "schwarz", "brown": "braun", "blue": "blau"}

# English (base, 3rd person, past): German (ich, er/sie, wir/sie = infinitive, past singular)
VERBS = {
    ("see", "sees", "saw"): ("sehe", "sieht", "sehen", "sah"),
    ("buy", "buys", "bought"): ("kaufe", "kauft", "kaufen", "kaufte"),
    ("find", "finds", "found"): ("finde", "findet", "finden", "fand"),
    ("like", "likes", "liked"): ("mag", "mag", "mögen", "mochte"),
    ("need", "needs", "needed"): ("brauche", "braucht", "brauchen", "brauchte"),
    ("lose", "loses", "lost"): ("verliere", "verliert", "verlieren", "verlor"),
    ("open", "opens", "opened"): ("öffne", "öffnet", "öffnen", "öffnete"),
    ("clean", "cleans", "cleaned"): ("putze", "putzt", "putzen", "putzte"),
    ("sell", "sells", "sold"): ("verkaufe", "verkauft", "verkaufen", "verkaufte"),
    ("watch", "watches", "watched"): ("beobachte", "beobachtet", "beobachten", "beobachtete"),
    ("love", "loves", "loved"): ("liebe", "liebt", "lieben", "liebte"),
    ("hate", "hates", "hated"): ("hasse", "hasst", "hassen", "hasste"),
    ("forget", "forgets", "forgot"): ("vergesse", "vergisst", "vergessen", "vergaß"),
    ("visit", "visits", "visited"): ("besuche", "besucht", "besuchen", "besuchte"),
    ("describe", "describes", "described"): ("beschreibe", "beschreibt", "beschreiben", "beschrieb"),
    ("know", "knows", "knew"): ("kenne", "kennt", "kennen", "kannte"),
    ("win", "wins", "won"): ("gewinne", "gewinnt", "gewinnen", "gewann"),
    ("check", "checks", "checked"): ("prüfe", "prüft", "prüfen", "prüfte"),
}
# English subject: (German, person: 1 = ich, 3 = er/sie/es, p = wir/sie)
SUBJECTS = {"I": ("ich", "1"), "he": ("er", "3"), "she": ("sie", "3"), "we": ("wir", "p"), "they": ("sie", "p"),
            "my friend": ("mein Freund", "3"), "my sister": ("meine Schwester", "3"), "our neighbours": ("unsere Nachbarn", "p")}
PAST_TIMES = {"yesterday": "gestern", "last week": "letzte Woche", "on Monday": "am Montag", "on Friday": "am Freitag",
              "last year": "letztes Jahr", "this morning": "heute Morgen", "in the evening": "am Abend"}
PRESENT_TIMES = {"today": "heute", "every day": "jeden Tag", "again": "wieder", "often": "oft", "now": "jetzt",
                 "on Sundays": "sonntags"}

ART = {"nom": {"m": "der", "f": "die", "n": "das"}, "acc": {"m": "den", "f": "die", "n": "das"}, "dat": {"m": "dem", "f": "der", "n": "dem"}}
# weak adjective endings after the definite article
WEAK = {"nom": {"m": "e", "f": "e", "n": "e"}, "acc": {"m": "en", "f": "e", "n": "e"}, "dat": {"m": "en", "f": "en", "n": "en"}}


def cap(s):
    return s[0].upper() + s[1:]


class Pairs:
    """One domain's nouns and senses, and a random source."""

    def __init__(self, domain, r):
        self.domain, self.r = domain, r
        nouns = dict(GENERAL)
        for d in DOMAIN_NOUNS.values():
            nouns.update(d)
        self.senses = dict(SENSES["general"])
        if domain != "general":
            self.senses.update(SENSES[domain])
        nouns.update(self.senses)
        self.nouns = nouns
        # what the sentences talk about: a domain's sentences mostly about its own words
        if domain == "general":
            self.topic = list(GENERAL) + list(SENSES["general"]) + [w for d in DOMAIN_NOUNS.values() for w in d]
            self.places = PLACES + ["court"]
        else:
            own = list(DOMAIN_NOUNS[domain]) + list(SENSES[domain])
            self.topic = own * 3 + list(GENERAL)
            self.places = (SPORTS_PLACES if domain == "sports" else LEGAL_PLACES) * 3 + PLACES

    def pick(self, xs):
        return self.r.choice(list(xs))

    def np(self, case, noun=None, adj=True):
        """(English, German) of "the (adjective) noun" in a German case."""
        n = noun or self.pick(self.topic)
        de, g = self.nouns[n]
        a = self.pick(ADJ) if adj and self.r.random() < 0.35 else None
        en = f"the {a + ' ' if a else ''}{n}"
        ger = f"{ART[case][g]} {ADJ[a] + WEAK[case][g] + ' ' if a else ''}{de}"
        return en, ger, n

    def in_place(self, place):
        """ "in the garden": im Garten, in der Küche (dative)."""
        pd, pg = self.nouns[place]
        return f"{'im' if pg in 'mn' else 'in der'} {pd}"

    def sentence(self):
        r = self.r
        kind = self.pick(["be", "be", "act", "act", "act", "place", "where", "not", "think", "act_not"])
        if kind in ("be", "not", "think"):
            en, de, _ = self.np("nom")
            past = r.random() < 0.5
            a = self.pick(ADJ)
            neg = kind == "not"
            e = f"{en} {'was' if past else 'is'}{' not' if neg else ''} {a}"
            d = f"{de} {'war' if past else 'ist'}{' nicht' if neg else ''} {ADJ[a]}"
            if kind == "think":
                s = self.pick(["I think", "we think", "she says", "they say"])
                sd = {"I think": "ich glaube", "we think": "wir glauben", "she says": "sie sagt", "they say": "sie sagen"}[s]
                return f"{cap(s)} {e}.", f"{cap(sd)}, {d}."
            return f"{cap(e)}.", f"{cap(d)}."
        if kind in ("act", "act_not"):
            if r.random() < 0.35:  # "the old man", "the judge": a noun phrase in the nominative, third person
                s, sd, subj_noun = self.np("nom")
                person = "3"
            else:
                s = self.pick(SUBJECTS)
                sd, person = SUBJECTS[s]
                subj_noun = None
            verb = self.pick(VERBS)
            ich, er, inf, past_sg = VERBS[verb]
            past = r.random() < 0.5 or kind == "act_not"
            en_o, de_o, obj_noun = self.np("acc")
            while obj_noun == subj_noun:
                en_o, de_o, obj_noun = self.np("acc")
            if past:
                ev = verb[2] if kind == "act" else f"did not {verb[0]}"
                dv = past_sg if person != "p" else past_sg + ("n" if past_sg.endswith("e") else "en")
                times = PAST_TIMES
            else:
                ev = verb[1] if person == "3" else verb[0]
                dv = {"1": ich, "3": er, "p": inf}[person]
                times = PRESENT_TIMES
            t = self.pick(times) if r.random() < 0.4 else None
            where = self.pick([p for p in self.places if p not in (subj_noun, obj_noun)]) if kind == "act" and r.random() < 0.25 else None
            e = f"{s} {ev} {en_o}{' in the ' + where if where else ''}{' ' + t if t else ''}"
            # German puts the time before the object: "Sie hasst heute das Büro."
            d = f"{sd} {dv}{' ' + times[t] if t else ''} {de_o}{' ' + self.in_place(where) if where else ''}{' nicht' if kind == 'act_not' else ''}"
            return f"{cap(e)}.", f"{cap(d)}."
        if kind == "place":
            en, de, n = self.np("nom")
            place = self.pick([p for p in self.places if p != n])
            past = r.random() < 0.5
            return f"{cap(en)} {'was' if past else 'is'} in the {place}.", f"{cap(de)} {'war' if past else 'ist'} {self.in_place(place)}."
        # where
        en, de, _ = self.np("nom", adj=False)
        return f"Where is {en}?", f"Wo ist {de}?"


def pairs(domain, n, seed):
    p = Pairs(domain, random.Random(seed))
    return [dict(zip(("en", "de"), p.sentence())) for _ in range(n)]


def ambiguous_in(en, domain):
    """The domain-dependent words of an English sentence, with the German the domain gives them."""
    senses = dict(SENSES["general"])
    if domain != "general":
        senses.update(SENSES[domain])
    words = en.rstrip(".?").lower().split()
    return {w: senses[w][0] for w in words if w in senses}
