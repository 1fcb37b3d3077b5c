"""Inbound keyword and opt-out classifier: the compliance gate on every inbound SMS.

Implements receptionist.md Part 1 (§1.4 pipeline, §1.6 the CANCEL collision)
for rules R-K-01 (opt-out keywords), R-K-02 (natural-language revocation),
R-K-03 (HELP), R-K-06 (opt-in keywords), R-FCC-01 (any reasonable means) and
traps T-01..T-06, T-23, T-24.

Layers, in order: normalisation; A. exact keyword lists after dropping filler
words; B. single-token typo tolerance; C. phrase rules (opt-out patterns,
review patterns, per-se words cleared only by explicit exception rules);
D. a character n-gram logistic regression (weights generated into
``keyword_model``) that may only *raise* a decision.  Everything is pure:
no I/O, no clock, standard library only.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from frontdesk.domain import keyword_model

RULES_VERSION = "kw-rules-2026.1"


class Classification(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    REVIEW = "review"
    NONE = "none"


class Mode(StrEnum):
    BALANCED = "balanced"
    STRICT = "strict"


class RevocationScope(StrEnum):
    ALL = "all"
    MARKETING = "marketing"


@dataclass(frozen=True, slots=True)
class KeywordContext:
    mode: Mode = Mode.BALANCED
    opted_out: bool = False
    pending_appointment: bool = False
    yes_is_opt_in: bool = False
    spanish: bool = True
    french: bool = True
    extra_opt_out: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class KeywordResult:
    classification: Classification
    scope: RevocationScope
    layer: str
    rule: str
    language: str
    appointment_cancel: bool
    bare_cancel: bool
    model_score: float | None
    normalized: str
    version: str


VERSION = f"{RULES_VERSION}+{keyword_model.MODEL_VERSION}"

# --------------------------------------------------------------------------- normalisation

_STOP_EMOJI = ("\U0001f6d1", "\u270b", "\U0001f6ab", "\u26d4")  # 🛑 ✋ 🚫 ⛔
_CHAR_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)
_SEGMENT_SPLIT = re.compile(r"[.!?;:,()\[\]{}\"\n\r\u2026]+|\x00")
_TOKEN = re.compile(r"[a-z0-9']+")
_DIGIT_EDGE = re.compile(r"^(?:(\d+)([a-z]{3,})|([a-z]{3,})(\d+))$")
_REPEAT = re.compile(r"(.)\1+")
_REPEAT3 = re.compile(r"(.)\1{2,}")


def _fold(text: str) -> str:
    """NFKC, smart punctuation, stop emoji → `stop`, casefold, diacritics stripped."""
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    for emoji in _STOP_EMOJI:
        if emoji in text:
            text = text.replace(emoji, "\x00stop\x00")
    text = text.casefold()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text


def _tokens(segment: str) -> list[str]:
    out: list[str] = []
    for raw in _TOKEN.findall(segment):
        tok = raw.strip("'")
        if not tok:
            continue
        m = _DIGIT_EDGE.match(tok)
        if m:
            out.extend(p for p in m.groups() if p)
        else:
            out.append(tok)
    return out


def _join_letters(segs: list[list[str]]) -> list[list[str]]:
    """A message whose non-filler words are all single letters is one spelled word."""
    flat = [t for s in segs for t in s]
    letters = [t for t in flat if len(t) == 1 or t not in FILLER]
    if len(letters) >= 2 and all(len(t) == 1 and t.isalpha() for t in letters):
        fillers = [t for t in flat if len(t) > 1]
        return [[*fillers, "".join(letters)]]
    return segs


def _segments(folded: str) -> list[list[str]]:
    return _join_letters(
        [toks for part in _SEGMENT_SPLIT.split(folded) if (toks := _tokens(part))]
    )


def normalize(text: str) -> str:
    """The matching form of ``text``: folded tokens joined by single spaces (R-K-01).

    NFKC (full-width letters), casefold, smart quotes/dashes mapped, diacritics
    stripped, stop emoji → ``stop``, punctuation dropped, a message made only
    of single letters joined ("S T O P" → ``stop``).
    """
    return " ".join(t for seg in _segments(_fold(text)) for t in seg)


# --------------------------------------------------------------------------- signatures

_SIGNOFF = re.compile(
    r"^(?:thanks|thank you|thx|ty|regards|best|best regards|kind regards|cheers|sincerely|"
    r"gracias|saludos|atentamente|merci|cordialement|love|xo|xoxo)(?: [a-z]+){0,3}$"
)
_SENT_FROM = re.compile(r"^(?:sent from|get outlook|enviado desde|envoye de)\b")
_NAME_WORD = re.compile(r"^[A-Z\u00c0-\u00de][a-zA-Z\u00c0-\u00ff'.]*$")


def _is_signature(raw_line: str, segs: list[list[str]]) -> bool:
    stripped = raw_line.strip()
    flat = [t for s in segs for t in s]
    if not flat:
        return True
    if any(t in _PER_SE_ALL or t in _HELP_WORDS for t in flat):
        return False
    if stripped[:1] in "-~_*" and len(flat) <= 4:
        return True
    joined = " ".join(flat)
    if _SENT_FROM.match(joined) or _SIGNOFF.match(joined):
        return True
    words = stripped.rstrip(".,!").split()
    return 1 <= len(words) <= 3 and all(_NAME_WORD.match(w) for w in words)


def _strip_signature(text: str) -> list[list[str]]:
    lines = [ln for ln in unicodedata.normalize("NFKC", text).splitlines() if ln.strip()]
    parsed = [_segments(_fold(ln)) for ln in lines]
    while len(lines) > 1 and _is_signature(lines[-1], parsed[-1]):
        lines.pop()
        parsed.pop()
    if len(parsed) == 1:
        return parsed[0]
    return _join_letters([s for p in parsed for s in p])


# --------------------------------------------------------------------------- A. exact lists

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FILLER: frozenset[str] = _words(
    """please pls plz plse pleas pleez plez now right away thanks thank you thx ty tks ok okay
    k kk hey hi hello already just asap immediately sir maam ma'am again yo lol omg
    seriously thankyou por favor porfa porfavor gracias ya ahora merci svp s'il vous plait"""
)

_EN_OPT_OUT = frozenset(
    {"stop", "stopall", "stop all", "unsubscribe", "unsub", "cancel", "end", "quit",
     "revoke", "opt out", "optout", "remove", "no more", "stop it", "quit it"}
)
_ES_OPT_OUT = frozenset({"para", "alto", "basta", "cancelar", "baja", "no mas", "detener"})
_FR_OPT_OUT = frozenset({"arret", "arrete", "arretez"})
_HELP_WORDS = frozenset({"help", "info", "ayuda", "aide"})
_PER_SE_EN = frozenset(
    {"stop", "stopall", "end", "quit", "cancel", "revoke", "unsubscribe", "unsub", "optout"}
)
_PER_SE_ES = frozenset({"cancelar", "basta", "para", "alto", "baja", "detener"})
_PER_SE_FR = frozenset({"arret"})
_PER_SE_ALL = _PER_SE_EN | _PER_SE_ES | _PER_SE_FR
_STRICT_EXCLUDED = frozenset({"para", "alto", "baja"})
_SPANISH_MARKERS = _words(
    "quiero mi cita por favor mensajes manden envien que el los las una tienen usted gracias "
    "manana hola necesito puedo esta estoy mas numero hora dia lunes martes viernes"
)
_FRENCH_MARKERS = _words(
    "je vous ne plus merci svp les des mon ma est pas bonjour rendez"
)


_CONDITIONAL_OPT_IN = {"yes": "en", "si": "es", "comenzar": "es"}


def _exact(phrase: str, ctx: KeywordContext) -> tuple[Classification, str, str] | None:
    """R-K-01 / R-K-03 / R-K-06: whole-message keyword lists after filler removal."""
    if phrase in _EN_OPT_OUT:
        return Classification.OPT_OUT, phrase, "en"
    if ctx.spanish and phrase in _ES_OPT_OUT:
        return Classification.OPT_OUT, phrase, "es"
    if ctx.french and phrase in _FR_OPT_OUT:
        return Classification.OPT_OUT, phrase, "fr"
    if phrase in ctx.extra_opt_out:
        return Classification.OPT_OUT, f"tenant:{phrase}", "en"
    if phrase in ("help", "info") or (ctx.spanish and phrase == "ayuda"):
        return Classification.HELP, phrase, "es" if phrase == "ayuda" else "en"
    if ctx.french and phrase == "aide":
        return Classification.HELP, phrase, "fr"
    if phrase in ("start", "unstop"):
        return Classification.OPT_IN, phrase, "en"
    if phrase in _CONDITIONAL_OPT_IN:
        lang = _CONDITIONAL_OPT_IN[phrase]
        if lang == "es" and not ctx.spanish:
            return None
        if ctx.opted_out and ctx.yes_is_opt_in:
            return Classification.OPT_IN, phrase, lang
        return Classification.NONE, f"{phrase}_not_opt_in", lang
    return None


# --------------------------------------------------------------------------- B. typos

_QWERTY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    """Keys touching each key on a staggered QWERTY layout (same row ±1, row above c/c+1,
    row below c-1/c)."""
    out: dict[str, str] = {}
    for r, row in enumerate(_QWERTY_ROWS):
        for c, ch in enumerate(row):
            near = [row[i] for i in (c - 1, c + 1) if 0 <= i < len(row)]
            if r > 0:
                up = _QWERTY_ROWS[r - 1]
                near += [up[i] for i in (c, c + 1) if 0 <= i < len(up)]
            if r + 1 < len(_QWERTY_ROWS):
                down = _QWERTY_ROWS[r + 1]
                near += [down[i] for i in (c - 1, c) if 0 <= i < len(down)]
            out[ch] = "".join(near)
    return out


_TYPO_TARGETS = ("stop", "quit", "cancel", "revoke", "unsubscribe", "stopall", "optout")
# Real words one edit away from a target; a message consisting of one of them is not an opt-out.
TYPO_ALLOW: frozenset[str] = frozenset(
    {"atop", "stoa", "quot", "cancer", "canned", "unsubscribed", "stopwatch", "quiz",
     "suit", "shop", "step", "spot", "post", "pots", "tops", "opts", "quite", "quiet"}
)


def _typo_table() -> dict[str, str]:
    near = _neighbours()
    table: dict[str, str] = {}
    letters = "abcdefghijklmnopqrstuvwxyz"
    for target in _TYPO_TARGETS:
        variants: set[str] = set()
        for i in range(len(target) - 1):
            variants.add(target[:i] + target[i + 1] + target[i] + target[i + 2 :])
        for i, ch in enumerate(target):
            for sub in near.get(ch, ""):
                variants.add(target[:i] + sub + target[i + 1 :])
        if len(target) >= 7:
            for i in range(len(target)):
                variants.add(target[:i] + target[i + 1 :])
            for i in range(len(target) + 1):
                for ch in letters:
                    variants.add(target[:i] + ch + target[i:])
        for v in variants:
            if len(v) >= 4 and v != target and v not in TYPO_ALLOW:
                table.setdefault(v, target)
    return table


_TYPOS = _typo_table()


def _single_token(tok: str, ctx: KeywordContext) -> tuple[Classification, str, str] | None:
    """Layer B (R-K-02, T-05): stretched letters and one-edit typos of a lone word."""
    for form in dict.fromkeys((_REPEAT3.sub(r"\1\1", tok), _REPEAT.sub(r"\1", tok))):
        if form != tok:
            hit = _exact(form, ctx)
            if hit and hit[0] is not Classification.NONE:
                return hit[0], f"collapsed:{hit[1]}", hit[2]
    if tok in TYPO_ALLOW:
        return Classification.NONE, "typo_allow", "en"
    if len(tok) < 4:
        return None
    for form in dict.fromkeys((tok, _REPEAT.sub(r"\1", tok))):
        target = _TYPOS.get(form)
        if target:
            return Classification.OPT_OUT, f"typo:{target}", "en"
    return None


# --------------------------------------------------------------------------- C. phrase rules

_NEG = r"(?<!don't )(?<!dont )(?<!do not )(?<!never )(?<!not )(?<!no )"
_TEXTS = (
    r"(?:texts?|txts?|text messages?|messages?|msgs?|sms|smss|reminders?|notifications?|"
    r"alerts?|promos?|promotions?|ads|offers|deals|marketing|spam|emails?)"
)
_PROMO = re.compile(
    r"\b(?:promos?|promotions?|promotional|marketing|ads|advertising|advertisements?|deals|"
    r"offers|sales?|coupons?|specials|newsletters?|discounts?|promociones|ofertas|publicidad|"
    r"anuncios)\b"
)
_KEEP_REMINDERS = re.compile(
    r"\b(?:(?:appointment |appt )?reminders?|confirmations?|appointment texts|recordatorios)"
    r"(?: \w+){0,2} (?:are|r|is|still|es|son|estan) (?:fine|ok|okay|good|welcome|great|bien)\b"
    r"|\b(?:keep|still (?:send|want)|but (?:send|keep))(?: \w+){0,2} "
    r"(?:reminders?|confirmations?|recordatorios)\b"
)
_WIDE = re.compile(r"\b(?:all|everything|any|every|anything|reminders?|todo|todos|nada)\b")

_Rule = tuple[str, str, re.Pattern[str]]


def _rules(lang: str, items: Iterable[tuple[str, str]]) -> tuple[_Rule, ...]:
    return tuple((rid, lang, re.compile(pattern)) for rid, pattern in items)


_OPT_OUT_EN = _rules(
    "en",
    [
        ("stop_texting", _NEG + r"(?<!non )\b(?:stop|quit|cease|end|halt|discontinue|stopall)"
         r"(?: \w+){0,2}? (?:texting|txting|messaging|msging|sending|contacting|calling|"
         r"emailing|spamming|bothering|bugging|harassing|getting|receiving|the " + _TEXTS
         + r"|your " + _TEXTS + r"|" + _TEXTS + r")\b"
         r"|" + _NEG + r"(?<!non )\b(?:stop|quit|cease|end) (?:these|them|it all|with the)\b"
         r"|^(?:stop|quit|end) (?:this|now)$"),
        ("dont_text", r"\b(?:don't|dont|do not|never|pls don't|stop|quit) (?:ever )?"
         r"(?:text|txt|message|msg|sms|contact|send|write to|reach out to)(?:ing)? "
         r"(?:me|us|this|my|again|anymore|any more|him|her|here|to this)\b"),
        ("dont_text_end", r"\b(?:don't|dont|do not|never) (?:ever )?(?:text|txt|message|msg|"
         r"contact)(?: me)?$"),
        ("remove_me", _NEG + r"\b(?:remove|take|delete|erase|drop|lose|unenroll|unlist|"
         r"unsubscribe|opt|sign|get|count) (?:me|my (?:phone |cell |mobile )?(?:number|#|info|"
         r"contact|details|name|phone))\b|\b(?:remove|delete|erase|lose|drop) (?:this|that|the)"
         r" (?:phone )?number\b(?! (?:appointment|appt|tooth|teeth|stitches))"),
        ("off_list", r"\b(?:off|from) (?:your|the|this|ur|that|my|all|any)(?: \w+)? "
         r"(?:list|lists|texts|database|system|contacts?|registry)\b"),
        ("unsubscribe", _NEG + r"\b(?:unsubscribe|unsubscribing|unsubcribe|unsub|"
         r"opt ?out|opting out|opted out|optout|revoke|revoking|revocation)\b"),
        ("wrong_number", r"\b(?:wrong|incorrect|not the right) (?:number|person|#|phone|"
         r"guy|girl|lady|man|contact|cell)\b|\bno one (?:here )?(?:by|named) that\b"
         r"|\b(?:is|isn't|isnt) not (?:his|her|their|my) number\b|\bnot (?:his|her) "
         r"(?:number|phone) anymore\b"),
        ("no_more", r"\bno (?:more|further|longer want)(?: \w+)? " + _TEXTS + r"\b"
         r"|^no (?:" + _TEXTS + r")(?: please)?$"),
        ("leave_alone", r"\b(?:leave me alone|leave me be|go away|fuck off|f off|piss off|"
         r"get lost|screw you|bugger off|eff off|fuck you)\b"),
        ("dont_want", r"\b(?:don't|dont|do not|no longer|never|didn't|did not) (?:want|wish|"
         r"need|like|care for|ask for|asked for|agree to|sign up for|signed up for)"
         r"(?: to (?:receive|get|be sent|keep getting))?(?: (?:any|more|anymore|these|"
         r"your|this|the|those|such|any more|further|ur))* " + _TEXTS + r"\b"),
        ("cancel_texts", r"\b(?:cancel|end|stop|terminate|cancelling|canceling) (?:my |the |"
         r"this |all |these |your |text |sms )*(?:subscription|subscriptions|membership in|"
         r"texts?|messages|msgs|alerts|notifications|sms|text messages|promos|marketing|"
         r"text club|list)\b"),
        ("stop_now", r"^(?:stop|stopall|quit|end|unsubscribe) (?:it|this|that|them|these|"
         r"texting|messaging|already|immediately|right now|asap|sending)$"),
    ],
)
_OPT_OUT_ES = _rules(
    "es",
    [
        ("es_no_quiero", r"\b(?:ya )?no (?:quiero|deseo|necesito) (?:recibir|mas|que me|"
         r"seguir|sus|estos|mensajes|textos)\b"),
        ("es_no_manden", r"\bno (?:me )?(?:manden|envien|escriban|mande|envie|escriba|"
         r"textee|contacten|contacte|molesten|llamen)\b"),
        ("es_baja", r"\b(?:dame|denme|darme|den|me dan|me den|de|doy|dar|quiero darme|"
         r"me doy) de baja\b|\bbaja (?:de|del) (?:la|los|esta|sus)? ?"
         r"(?:lista|mensajes|servicio|textos|suscripcion)\b"),
        ("es_dejen", r"\b(?:dejen|deje|deja|dejar|paren|pare|para|dejan) de (?:enviar|"
         r"mandar|escribir|textear|molestar|enviarme|mandarme|escribirme|contactar|"
         r"contactarme|llamar)\b"),
        ("es_no_mas", r"\bno (?:mas|quiero mas) (?:mensajes|textos|sms|msjs|msj|por favor|"
         r"gracias|mensajitos|notificaciones|promociones|recordatorios)\b"),
        ("es_basta", r"(?<!lo )(?<!me )\bbasta\b(?! con)(?! que)"),
        ("es_cancelar_subs", r"\b(?:cancelar|cancelen|cancela|cancele) (?:la |mi |mis |los "
         r"|sus |esta )?(?:suscripcion|subscripcion|mensajes|textos|notificaciones|alertas|"
         r"sms|promociones)\b"),
        ("es_numero_equivocado", r"\b(?:numero|persona) equivocad[oa]\b|\bequivoc\w* de "
         r"(?:numero|persona)\b"),
        ("es_eliminar", r"\b(?:eliminen|borren|quiten|saquen|eliminar|borrar|quitar|"
         r"sacar|quitenme|sacame|saquenme|eliminenme|borrenme)(?: me)? (?:mi numero|de "
         r"(?:la|su|sus|esta) (?:lista|base))\b"),
        ("es_paz", r"\bdej\w* en paz\b"),
        ("es_detener", r"\b(?:detener|detengan|parar|paren|alto a|basta de) (?:los |sus "
         r"|estos |el |de )?(?:mensajes|textos|envios|sms|enviar)\b"),
    ],
)
_OPT_OUT_FR = _rules(
    "fr",
    [
        ("fr_arret", r"\barret(?:ez|er|e)? (?:les|de m'envoyer|d'envoyer|de|vos|ces|svp|"
         r"tout)\b"),
        ("fr_ne_plus", r"\bne (?:m'envoyez|m'ecrivez|me contactez|me textez|veux|souhaite)"
         r" plus\b|\bje ne veux plus\b"),
        ("fr_desabonner", r"\b(?:desabonner|desabonnez|desinscrire|desinscrivez|"
         r"desabonnement|desinscription)\b"),
        ("fr_mauvais_numero", r"\b(?:mauvais|faux) numero\b"),
    ],
)

_REVIEW_EN = _rules(
    "en",
    [
        ("not_interested", r"\b(?:not|no longer|nt|ain't) interested\b"),
        ("too_many", r"\btoo many (?:texts|messages|msgs|reminders|notifications)\b"),
        ("who_gave", r"\bwho gave (?:you|u) (?:my|this)(?: \w+)? (?:number|#|info)\b"),
        ("how_get_number", r"\bhow (?:did|do|does) (?:you|u|ya) (?:get|have|got) "
         r"(?:my|this)(?: \w+)? (?:number|#|info)\b"),
        ("who_is_this", r"\bwho (?:is|r|are|dis|tf is|the hell is|is this|this)\b"
         r"(?: (?:this|you|u|texting|sending))?$|^who (?:is|are) (?:this|you)\b"),
        ("never_signed_up", r"\b(?:never|didn't|did not|didnt) (?:sign(?:ed)? up|"
         r"subscribe(?:d)?|opt(?:ed)? in|agree(?:d)?|give you (?:my |permission|consent))"),
        ("spam", r"\b(?:spam|spammer|spamming|scam|scammer|unsolicited|junk)\b"),
        ("quoting_stop", r"\b(?:reply|text|send|says|said|type|respond with) (?:stop|end|"
         r"cancel|quit)\b"),
        ("do_not_call", r"\b(?:don't|dont|do not) call\b"),
        ("why_texting", r"\bwhy (?:are|do|r|is|does) (?:you|u|this|someone)(?: \w+)? "
         r"(?:texting|messaging|sending|contacting|keep)\b"),
        ("cancel_it", r"^(?:i want to |i need to |can (?:you|u|i) |can we |just |pls )?"
         r"cancel(?: it| that| this| them| all)?(?: (?:pls|please|now))?$"),
        ("make_it_stop", r"\bmake (?:it|this|these|them) stop\b"),
        ("enough", r"^enough(?: already)?$|\benough (?:texts|messages|with the)\b"),
    ],
)
_REVIEW_ES = _rules(
    "es",
    [
        ("es_no_interesa", r"\bno (?:me interesa|estoy interesad[oa]|estamos interesados)\b"),
        ("es_quien", r"\bquien (?:es|eres|le dio|les dio|te dio|me escribe|habla)\b|\bcomo "
         r"(?:consiguieron|obtuvieron|tienen|consiguio) (?:mi|este) numero\b"),
        ("es_demasiados", r"\bdemasiados (?:mensajes|textos)\b"),
        ("es_cancelar_it", r"^(?:quiero |necesito )?cancelar(?:lo|la)?$"),
    ],
)
_REVIEW_FR = _rules(
    "fr",
    [("fr_pas_interesse", r"\bpas interess[eé]e?s?\b|\bqui (?:est-ce|etes-vous|est ce)\b")],
)

_APPT = (
    r"(?:appointments?|appts?|appt\.|booking|bookings|visit|visits|cleaning|service|"
    r"services|order|orders|reservation|reservations|consult|consultation|checkup|"
    r"check up|check-up|exam|session|class|call|meeting|job|estimate|delivery|slot|"
    r"time|pickup|install|installation|inspection|repair|procedure|surgery|filling|"
    r"crown|root canal|massage|haircut|trim|lesson|tour|quote|cita|payment)"
)
_APPT_CANCEL = re.compile(
    r"\bcancel(?:ar)? (?:my|the|this|that|our|his|her|their|an|a|one|your|tomorrow's|"
    r"today's|\w+day's|\w+'s|next|upcoming|mon|monday)(?: \w+){0,3}? " + _APPT + r"\b"
    r"|\bcancel(?: it)? (?:and|or|&|n) (?:re-?schedule|re-?book|move|change)\b"
    r"|\bcancel(?: it)? (?:for|on) (?:tomorrow|today|tonight|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thurs|fri|sat|sun|next)\b"
    r"|\bcancel (?:it|that) (?:for|on) (?:tomorrow|today)\b"
    r"|\bcancelar (?:mi|la|el|una|su|esta|nuestra)(?: \w+){0,2}? (?:cita|citas|consulta|"
    r"reserva|visita|limpieza|pedido|orden|turno|servicio)\b"
)


def _x(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_EXCEPTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("negated", _x(r"\b(?:don't|dont|do not|never|not|no need to|please don't|pls dont|"
                   r"didn't|did not) (?:ever )?(?:stop|cancel|end|quit|unsubscribe|unsub|"
                   r"cancelar|detener)\b|\bno (?:cancelar|cancelen|cancele|detener)\b")),
    ("stop_visit", _x(r"\bstop (?:by|in|over|at|off|past|into|through|on by|and|for|here|"
                      r"there|round|around|back)\b")),
    ("stop_noun", _x(r"\b(?:bus|pit|one|next|last|first|truck|rest|door|full|train|subway|"
                      r"quick|brief|short|final|gas|a|the|your|my|each|every|two|three|non|"
                      r"shuttle|tram|metro) stops?\b|\bstop (?:light|lights|sign|signs|"
                      r"watch|gap|loss|valve|cock|bath|motion|band)\b")),
    ("stop_object", _x(r"\bstop(?: the| my| his| her| their| this| that| your| it| him)? "
                        r"(?:from )?(?:leak|leaking|leaks|bleeding|bleed|pain|water|noise|"
                        r"dripping|drip|itching|itch|swelling|flow|flood|flooding|clicking|"
                        r"squeaking|squeak|ringing|grinding|cough|coughing|smoking|"
                        r"drinking|vaping|taking|eating|using|medication|meds|medicine|"
                        r"treatment|pills|antibiotics|alarm|beeping|sneezing|crying|"
                        r"hurting|aching|running|throbbing|leaking|rattling|toilet|"
                        r"sink|faucet|draft|mold|sensitivity|infection|dog|cat|kids?|"
                        r"ac|heater|payment|check|work|working|breathing)\b")),
    ("stop_not_texts", _x(r"\b(?:can't|cant|cannot|won't|wont|doesn't|doesnt|didn't|"
                           r"didnt|wouldn't|couldn't|hasn't|hasnt|haven't|finally|will|"
                           r"would|did|it|pain|bleeding|noise|leak|they|has|had) "
                           r"(?:\w+ )?stop(?: \w+ing)?\b")),
    ("end_noun", _x(r"\b(?:the|an|at|by|till|til|until|before|near|toward|towards|week|"
                    r"month|year|day|dead|back|front|rear|low|high|deep|tail|far|west|east|"
                    r"north|south|upper|lower|other|my|your|our|their|this|that|each|"
                    r"bitter|loose|happy|no) end\b|\bend (?:of|up|date|time|result|"
                    r"tables?|point|game|user|cap|goal|product|stage|caps|piece|unit|"
                    r"around|by|at|before|after|early|late|on|soon|today|tomorrow|"
                    r"tonight|\d+)\b|\b(?:do|does|did|will|would|should|can|could|to|"
                    r"it|they|we|you|u|shift|appointment|session|class|lease|contract|"
                    r"insurance|coverage|plan|school|work|sale|offer|promo|that|"
                    r"visit|hours|office|day) (?:\w+ )?end\b")),
    ("quit_other", _x(r"\bquit (?:smoking|drinking|vaping|my|his|her|their|the job|"
                      r"caffeine|sugar|soda|coffee|alcohol|chewing|dipping|nicotine|"
                      r"cigarettes|cigs|working|taking|using|the gym|school|on|after|"
                      r"before|cold turkey|last|in|a while|years|months|weeks|tobacco|"
                      r"snuff|that job|her job|his job|juuling|weed)\b|\b(?:dentist|"
                      r"doctor|hygienist|tech|guy|plumber|he|she|car|ac|a/c|heater|"
                      r"furnace|fridge|engine|it|phone|thing|pump|unit|compressor|"
                      r"battery|motor|mom|dad|husband|wife|son|daughter)(?: \w+)? quit\b")),
    ("cancel_appointment", _APPT_CANCEL),
    ("cancel_noun", _x(r"\bcancel (?:policy|fee|fees|charge|window)\b|\b(?:no|a|the|late) "
                       r"cancel\b")),
    ("revoke_other", _x(r"\brevoke(?:d)? (?:my|his|her|the) (?:license|licence|permit|"
                        r"visa|access|card)\b")),
    ("es_para", _x(r"\b\w+ para\b|\bpara (?:el|la|los|las|un|una|mi|mis|su|sus|tu|ti|"
                   r"que|cuando|manana|hoy|lunes|martes|miercoles|jueves|viernes|sabado|"
                   r"domingo|\d+|[a-z]+(?:ar|er|ir)|esta|este|ese|esa|ella|el|nosotros|"
                   r"mi|usted|ustedes|entonces|las|donde|siempre|nada|algo|ver|ser)\b")),
    ("es_alto", _x(r"\b(?:\w+) alt[oa]\b(?! a (?:los |estos |sus )?(?:mensajes|textos))"
                   r"|\balto (?:nivel|riesgo|costo|precio|volumen|grado|contraste|el|la)\b")),
    ("es_baja", _x(r"\b(?:presion|temperatura|muy|mas|esta|es|la|una|tan|bien|algo|"
                   r"tension|azucar|glucosa|fiebre|planta|de|por|su|mi|muela|estoy|"
                   r"encia|parte|se|le) baja\b")),
    ("es_basta_con", _x(r"\bbasta (?:con|que)\b")),
    ("es_detener", _x(r"\bdetener (?:el|la|los|las) (?:sangrado|dolor|fuga|agua|goteo|"
                      r"hemorragia|infeccion)\b")),
    ("fr_arret", _x(r"\barret (?:de bus|d'autobus|de travail|maladie)\b")),
)

_URGENT_HELP = re.compile(
    r"^(?:help|ayuda|aide)(?: (?:me|please|pls))? (?!(?:me )?(?:stop|unsubscribe|opt))\w+"
)
_PER_SE_RE = re.compile(
    r"\b(?:stop|stopall|end|quit|cancel|revoke|unsubscribe|unsub|optout|cancelar|basta|"
    r"para|alto|baja|detener|arret)\b"
)


@dataclass(frozen=True, slots=True)
class _Decision:
    classification: Classification
    layer: str
    rule: str
    language: str
    scope: RevocationScope = RevocationScope.ALL
    appointment_cancel: bool = False
    bare_cancel: bool = False
    cleared: bool = False


def _language(tokens: list[str]) -> str:
    es = sum(t in _SPANISH_MARKERS for t in tokens)
    fr = sum(t in _FRENCH_MARKERS for t in tokens)
    if es >= 2 and es >= fr:
        return "es"
    if fr >= 2:
        return "fr"
    return "en"


def _scope(joined: str) -> RevocationScope:
    """R-FCC-03: a revocation that limits itself to promotions keeps service texts."""
    if not _PROMO.search(joined):
        return RevocationScope.ALL
    rest = _KEEP_REMINDERS.sub(" ", joined)
    if _KEEP_REMINDERS.search(joined) or not _WIDE.search(rest):
        return RevocationScope.MARKETING
    return RevocationScope.ALL


def _phrase_opt_out(joined: str, ctx: KeywordContext) -> _Rule | None:
    groups: list[tuple[_Rule, ...]] = [_OPT_OUT_EN]
    if ctx.spanish:
        groups.append(_OPT_OUT_ES)
    if ctx.french:
        groups.append(_OPT_OUT_FR)
    for group in groups:
        for rule in group:
            if rule[2].search(joined):
                return rule
    return None


def _phrase_review(joined: str, ctx: KeywordContext) -> _Rule | None:
    groups: list[tuple[_Rule, ...]] = [_REVIEW_EN]
    if ctx.spanish:
        groups.append(_REVIEW_ES)
    if ctx.french:
        groups.append(_REVIEW_FR)
    for group in groups:
        for rule in group:
            if rule[2].search(joined):
                return rule
    return None


def _per_se_enabled(word: str, ctx: KeywordContext) -> bool:
    if word in _PER_SE_ES:
        return ctx.spanish
    if word in _PER_SE_FR:
        return ctx.french
    return True


def _mentions_cancel(joined: str) -> bool:
    return re.search(r"\bcancel(?:ar)?\b", joined) is not None


def _is_opt_out_keyword(phrase: str, ctx: KeywordContext) -> bool:
    hit = _exact(phrase, ctx)
    return hit is not None and hit[0] is Classification.OPT_OUT


def _all_opt_out_keywords(
    segs: list[list[str]], dedup: list[str], ctx: KeywordContext
) -> str | None:
    """R-K-01: a message made only of opt-out keywords ("🛑 PARA", "STOP. QUIT") opts out."""
    phrases = [" ".join(t for t in s if t not in FILLER) for s in segs]
    phrases = [p for p in phrases if p]
    if len(phrases) >= 2 and all(_is_opt_out_keyword(p, ctx) for p in phrases):
        return phrases[0]
    if len(dedup) >= 2 and all(_is_opt_out_keyword(t, ctx) for t in dedup):
        return dedup[0]
    return None


def _decide_rules(segs: list[list[str]], ctx: KeywordContext) -> _Decision:
    """Layers A-C (R-K-01, R-K-02, R-K-03, R-K-06); receptionist.md §1.4 and §1.6."""
    flat = [t for s in segs for t in s]
    lang_guess = _language(flat)
    core = [t for t in flat if t not in FILLER]
    dedup = [t for i, t in enumerate(core) if i == 0 or t != core[i - 1]]
    phrase = " ".join(dedup)
    pending = ctx.pending_appointment

    if not phrase:
        return _Decision(Classification.NONE, "none", "filler_only", lang_guess)
    hit = _exact(phrase, ctx)
    if hit is not None:
        cls, rid, lang = hit
        if cls is Classification.NONE:
            return _Decision(cls, "exception", f"exception:{rid}", lang, cleared=True)
        bare = rid in ("cancel", "cancelar")
        return _Decision(cls, "exact", f"exact:{rid}", lang, bare_cancel=bare,
                         appointment_cancel=bare and pending)
    multi = _all_opt_out_keywords(segs, dedup, ctx)
    if multi is not None:
        bare = multi in ("cancel", "cancelar")
        return _Decision(Classification.OPT_OUT, "exact", f"exact:{multi}", lang_guess,
                         bare_cancel=bare, appointment_cancel=bare and pending)
    if len(dedup) == 1:
        typo = _single_token(dedup[0], ctx)
        if typo is not None:
            cls, rid, lang = typo
            if cls is Classification.NONE:
                return _Decision(cls, "exception", f"exception:{rid}", lang, cleared=True)
            bare = rid.endswith(":cancel") or rid.endswith(":cancelar")
            return _Decision(cls, "typo", rid, lang, bare_cancel=bare,
                             appointment_cancel=bare and pending)

    joined = " . ".join(" ".join(s) for s in segs)
    rule = _phrase_opt_out(joined, ctx) or (
        _phrase_opt_out(phrase, ctx) if len(core) != len(flat) else None
    )
    if rule is not None:
        return _Decision(Classification.OPT_OUT, "phrase", f"optout:{rule[0]}", rule[1],
                         scope=_scope(joined))
    if len(segs) >= 2:
        last = [t for t in segs[-1] if t not in FILLER]
        tail = _exact(" ".join(last), ctx) if last else None
        if tail is not None and tail[0] is Classification.OPT_OUT and (
            tail[1] not in _ES_OPT_OUT or len(last) > 1 or tail[1] in ("basta", "cancelar")
        ):
            return _Decision(Classification.OPT_OUT, "phrase", f"optout:trailing_{tail[1]}",
                             tail[2], bare_cancel=tail[1] in ("cancel", "cancelar"),
                             appointment_cancel=tail[1] in ("cancel", "cancelar") and pending)

    strict = ctx.mode is Mode.STRICT
    if strict:
        for m in _PER_SE_RE.finditer(joined):
            word = m.group(0)
            if word not in _STRICT_EXCLUDED and _per_se_enabled(word, ctx):
                return _Decision(Classification.OPT_OUT, "phrase", f"strict:{word}",
                                 "es" if word in _PER_SE_ES else lang_guess,
                                 appointment_cancel=_APPT_CANCEL.search(joined) is not None)

    review = _phrase_review(joined, ctx)
    if review is not None:
        return _Decision(Classification.REVIEW, "phrase", f"review:{review[0]}", review[1],
                         appointment_cancel=pending and _mentions_cancel(joined))

    words = [m for m in _PER_SE_RE.finditer(joined) if _per_se_enabled(m.group(0), ctx)]
    if words:
        spans: list[tuple[int, int, str]] = []
        for rid, pattern in _EXCEPTIONS:
            spans.extend((e.start(), e.end(), rid) for e in pattern.finditer(joined))
        used: list[str] = []
        for m in words:
            covering = [rid for s, e, rid in spans if s <= m.start() and m.end() <= e]
            if not covering:
                word = m.group(0)
                return _Decision(Classification.REVIEW, "phrase", f"per_se:{word}",
                                 "es" if word in _PER_SE_ES else lang_guess,
                                 appointment_cancel=pending and _mentions_cancel(joined))
            used.append(covering[0])
        appt = "cancel_appointment" in used
        return _Decision(Classification.NONE, "exception",
                         "exception:" + "+".join(dict.fromkeys(used)), lang_guess,
                         appointment_cancel=appt, cleared=True)
    if _URGENT_HELP.match(joined.replace(" . ", " ")):
        return _Decision(Classification.NONE, "exception", "exception:urgent_help",
                         lang_guess, cleared=True)
    return _Decision(Classification.NONE, "none", "no_match", lang_guess)


# --------------------------------------------------------------------------- D. model


@lru_cache(maxsize=8192)
def _word_ngrams(word: str) -> tuple[str, ...]:
    w = f" {word} "
    size = len(w)
    grams: list[str] = []
    lo, hi = keyword_model.NGRAM_RANGE
    for n in range(lo, hi + 1):
        if size <= n:
            grams.append(w)
            break
        grams.extend(w[i : i + n] for i in range(size - n + 1))
    return tuple(grams)


def char_ngrams(text: str) -> dict[str, int]:
    """Word-bounded character 2-4 grams, identical to scikit-learn's ``char_wb``."""
    counts: dict[str, int] = {}
    get = counts.get
    for word in text.split():
        for g in _word_ngrams(word):
            counts[g] = get(g, 0) + 1
    return counts


def model_proba(normalized: str) -> tuple[float, ...]:
    """Class probabilities (order ``keyword_model.CLASSES``) from the exported weights."""
    features = keyword_model.FEATURES
    intercepts = keyword_model.INTERCEPTS
    k = len(intercepts)
    acc = [0.0] * k
    norm = 0.0
    sublinear = keyword_model.SUBLINEAR_TF
    log = math.log
    for gram, count in char_ngrams(normalized).items():
        entry = features.get(gram)
        if entry is None:
            continue
        idf, weights = entry
        value = (1.0 + log(count) if sublinear else float(count)) * idf
        norm += value * value
        acc = [a + value * w for a, w in zip(acc, weights, strict=True)]
    scale = 1.0 / math.sqrt(norm) if norm > 0.0 else 0.0
    logits = [a * scale + b for a, b in zip(acc, intercepts, strict=True)]
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    total = sum(exps)
    return tuple(e / total for e in exps)


_OPT_OUT_INDEX = keyword_model.CLASSES.index("OPT_OUT")


def model_opt_out_score(normalized: str) -> float:
    """P(OPT_OUT) for a normalised text."""
    return model_proba(normalized)[_OPT_OUT_INDEX]


def _apply_model(decision: _Decision, normalized: str) -> tuple[_Decision, float | None]:
    """Layer D (R-K-02): the model may only raise NONE→REVIEW or REVIEW→OPT_OUT."""
    if decision.cleared or decision.classification not in (
        Classification.NONE,
        Classification.REVIEW,
    ):
        return decision, None
    score = model_opt_out_score(normalized)
    if decision.classification is Classification.NONE and score >= keyword_model.T_REVIEW:
        raised = Classification.REVIEW
    elif decision.classification is Classification.REVIEW and score >= keyword_model.T_OPT_OUT:
        raised = Classification.OPT_OUT
    else:
        return decision, score
    return (
        _Decision(raised, "model", f"model:{decision.rule}", decision.language,
                  appointment_cancel=decision.appointment_cancel),
        score,
    )


# --------------------------------------------------------------------------- public API


def rule_decision(text: str, context: KeywordContext = KeywordContext()) -> KeywordResult:
    """Layers A-C only (no model); used by the training script and the model-safety tests."""
    return _classify(text, context, use_model=False)


def classify(text: str, context: KeywordContext = KeywordContext()) -> KeywordResult:
    """Classify one inbound SMS body (R-K-01, R-K-02, R-K-03, R-K-06, R-FCC-01).

    Never raises on any string (T-23); an empty or non-text body is ``NONE``.
    """
    return _classify(text, context, use_model=True)


def _parse(text: str) -> list[list[str]]:
    return _strip_signature(text) if ("\n" in text or "\r" in text) else _segments(_fold(text))


def model_input(text: str) -> str:
    """The document the n-gram model scores: normalised tokens without a signature."""
    return " ".join(t for s in _parse(text) for t in s)


def _classify(text: str, context: KeywordContext, *, use_model: bool) -> KeywordResult:
    segs = _parse(text)
    multiline = "\n" in text or "\r" in text
    normalized = normalize(text) if multiline else " ".join(t for seg in segs for t in seg)
    if not segs:
        return KeywordResult(Classification.NONE, RevocationScope.ALL, "empty", "empty", "en",
                             False, False, None, normalized, VERSION)
    if context.extra_opt_out:
        context = _with_normalized_extras(context)
    decision = _decide_rules(segs, context)
    score: float | None = None
    if use_model:
        model_text = " ".join(t for s in segs for t in s)
        decision, score = _apply_model(decision, model_text)
    return KeywordResult(
        classification=decision.classification,
        scope=decision.scope,
        layer=decision.layer,
        rule=decision.rule,
        language=decision.language,
        appointment_cancel=decision.appointment_cancel,
        bare_cancel=decision.bare_cancel,
        model_score=score,
        normalized=normalized,
        version=VERSION,
    )


def _with_normalized_extras(ctx: KeywordContext) -> KeywordContext:
    extras = frozenset(normalize(k) for k in ctx.extra_opt_out)
    return KeywordContext(ctx.mode, ctx.opted_out, ctx.pending_appointment, ctx.yes_is_opt_in,
                          ctx.spanish, ctx.french, extras)
