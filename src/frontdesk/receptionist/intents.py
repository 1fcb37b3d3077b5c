"""Deterministic intent rules for inbound texts, English and Spanish (receptionist.md §2.2).

Runs only after the compliance gate said NONE (Part 1): opt-out words never reach
this module's decisions. Order matters and encodes safety first:

1. ``urgent`` (pain, bleeding, swelling, flooding, no heat, gas smell…) before
   anything else, so "cancel, my face is swollen" alerts staff (§2.3 item 10);
2. ``auto_reply`` (carrier/"I'm driving" auto-replies) so the AI never answers a
   robot and loops (§2.3 item 8);
3. ``human_request``, ``ask_identity``, then the appointment intents, where a
   reschedule wins over a cancel ("cancel and rebook" is not destructive);
4. menu answers (``C``/``R``/``YES``/"sí"/👍) only when a visit is pending, and
   digits when slots were offered;
5. questions (price, insurance, hours, location, services), booking, complaints,
   lead details, thanks; everything else is ``other``.

Pure: regular expressions over a folded form (casefold, accents stripped), no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from frontdesk.receptionist.extract import extract_name, extract_time, extract_zip, fold

__all__ = [
    "APPOINTMENT_STATES",
    "Intent",
    "IntentMatch",
    "classify",
    "detect_language",
]


class Intent(StrEnum):
    CONFIRM_APPOINTMENT = "confirm_appointment"
    CANCEL_APPOINTMENT = "cancel_appointment"
    RESCHEDULE = "reschedule"
    BOOK_NEW = "book_new"
    RUNNING_LATE = "running_late"
    ASK_HOURS = "ask_hours"
    ASK_LOCATION = "ask_location"
    ASK_PRICE = "ask_price"
    ASK_SERVICES = "ask_services"
    ASK_INSURANCE_PAYMENT = "ask_insurance_payment"
    PROVIDE_INFO = "provide_info"
    HUMAN_REQUEST = "human_request"
    URGENT = "urgent"
    COMPLAINT = "complaint"
    ASK_IDENTITY = "ask_identity"
    THANKS_ACK = "thanks_ack"
    AUTO_REPLY = "auto_reply"
    OTHER = "other"


# Dialogue states in which a short "yes"/"C" answers the last outbound question.
APPOINTMENT_STATES = frozenset({"awaiting_confirmation"})


@dataclass(frozen=True, slots=True)
class IntentMatch:
    intent: Intent
    language: str
    slots: dict[str, str] = field(default_factory=dict)
    rule: str = ""


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


# ---------------------------------------------------------------- language

_ES_WORDS = frozenset(
    {
        "hola", "cita", "citas", "gracias", "quiero", "puedo", "puede", "pueden", "manana",
        "cuanto", "cuesta", "horario", "donde", "si", "por", "favor", "necesito", "tienen",
        "aceptan", "seguro", "llegar", "tarde", "cancelar", "cambiar", "ayuda", "duele",
        "dolor", "estoy", "esta", "es", "la", "el", "mi", "de", "que", "con", "una", "un",
        "para", "hoy", "nos", "vemos", "claro", "voy", "llego", "abren", "cierran", "quien",
        "eres", "usted", "ustedes", "hablar", "persona", "muy", "bien", "perfecto", "buenas",
        "buenos", "dias", "tardes", "noches", "precio", "direccion", "estan", "hay",
        "sabado", "domingo", "lunes", "martes", "miercoles", "jueves", "viernes", "llamo",
        "nombre", "soy", "confirmo", "reprogramar", "tengo", "me", "le", "lo", "los", "las",
        "cuando", "como", "porque", "pero", "tambien", "agua", "calefaccion", "hinchada",
        "hinchado", "sangrando", "llamen", "alguien", "robot", "servicios", "ofrecen",
        "limpieza", "seguros", "pagar", "tarjeta", "efectivo", "ubicacion", "queda", "abierto",
        "confirmado", "confirmada", "igualmente", "pesimo", "servicio", "vale", "listo",
        "entendido", "disculpe", "ahi", "alli", "sotano", "hijo", "hija", "mucho", "mucha",
        "frio", "hace", "cocina", "cara", "encias", "muela", "vengan", "revisar", "ayer",
        "anular", "reagendar", "cobraron", "reembolso", "nadie", "molesta", "espere", "habla",
        "humano", "calentador", "atienden", "ninos", "arreglan", "trabajan", "cobran",
        "examen", "consulta", "precios", "estacionamiento", "oficina", "ubicados", "llamenme",
        "hacen", "sale", "tiene", "tenemos", "cual", "mas", "otro", "otra",
    }
)  # fmt: skip
_EN_WORDS = frozenset(
    {
        "the", "is", "are", "you", "your", "my", "i", "to", "can", "do", "what", "when",
        "where", "how", "much", "appointment", "thanks", "thank", "yes", "please", "need",
        "want", "will", "be", "late", "open", "hours", "tomorrow", "today", "cancel",
        "reschedule", "move", "it", "we", "this", "that", "of", "for", "in", "on", "at",
        "and", "have", "take", "insurance", "who", "see", "then", "there", "here", "call",
        "me", "price", "cost", "im", "i'm", "it's", "its", "dont", "don't", "can't", "cant",
        "with", "someone", "person", "real", "bot", "morning", "afternoon", "hi", "hello",
        "hey", "okay", "sure", "yeah", "yep", "good", "great", "got", "just", "not",
    }
)  # fmt: skip
_ES_CHARS = re.compile(r"[ñ¿¡áíóúé]", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z']+")


def detect_language(text: str, default: str = "en") -> str:
    """ "es" or "en" by a word vote (Spanish punctuation and accents count double); short
    or mixed texts keep ``default`` (the conversation's language)."""
    words = _WORD_RE.findall(fold(text))
    es = sum(w in _ES_WORDS for w in words) + 2 * len(_ES_CHARS.findall(text))
    en = sum(w in _EN_WORDS for w in words)
    if es > en:
        return "es"
    if en > es:
        return "en"
    return default


# ---------------------------------------------------------------- rules

_NEGATED_PAIN = re.compile(
    r"\b(?:no|not\s+in|not\s+any|without|sin|zero|painless|doesn'?t|don'?t|didn'?t|won'?t|"
    r"isn'?t|ni)\s+(?:\w+\s+)?(?:pain|hurt|hurts|hurting|dolor|duele|bleeding|swelling)\b"
    r"|\bwill\s+(?:it|the\s+\w+)\s+hurt\b|\bdoes\s+(?:it|the\s+\w+)\s+hurt\b"
    r"|\bpain[\s-]?free\b|\bsin\s+dolor\b"
)
_URGENT = _rx(
    r"\b(?:severe|bad|terrible|horrible|sharp|unbearable|extreme|a\s+lot\s+of|so\s+much|"
    r"in)\s+pain\b",
    r"\bpain\b",
    r"\bpainful\b",
    r"\b(?:it|tooth|teeth|jaw|mouth|face|gum|gums|head|chest|ear|eye)\s+(?:really\s+|so\s+|is\s+)?"
    r"(?:hurts?|hurting|aches?|aching|killing\s+me|throbbing)\b",
    r"\b(?:hurts?|hurting)\s+(?:so|really|a\s+lot|bad)\b",
    r"\btoothache\b",
    r"\bbleed(?:ing|s)?\b",
    r"\b(?:lots\s+of|so\s+much|a\s+lot\s+of)\s+blood\b",
    r"\bswell(?:ing|ed|en)|\bswollen\b|\bpuffed\s+up\b",
    r"\babscess\b|\binfect(?:ed|ion)\b|\bpus\b|\bfever\b",
    r"\bknocked\s+out\b|\bbroke(?:n)?\s+(?:a\s+|my\s+)?(?:tooth|teeth|crown|jaw)\b|\bcracked\s+tooth\b",
    r"\bcan'?t\s+breathe\b|\btrouble\s+breathing\b|\bcannot\s+breathe\b",
    r"\bemergency\b|\burgent(?:e|ly)?\b|\bemergencia\b",
    r"\bflood(?:ing|ed|s)?\b|\bwater\s+(?:everywhere|all\s+over|pouring|gushing)\b",
    r"\bburst\s+pipe\b|\bpipe\s+(?:burst|broke)\b|\bpipes?\s+(?:just\s+)?burst\b",
    r"\bno\s+heat\b|\bheat(?:er|ing)?\s+(?:is\s+)?(?:not\s+working|isn'?t\s+working|out|broke|"
    r"died|stopped\s+working)\b|\bfurnace\s+(?:is\s+)?(?:out|dead|not\s+working|broke)\b",
    r"\bgas\s+(?:smell|leak)\b|\bsmells?\s+(?:like\s+|of\s+)?gas\b|\bsmelling\s+gas\b",
    r"\bcarbon\s+monoxide\b|\bco\s+(?:alarm|detector)\b",
    r"\bsparks?\b|\bsparking\b|\bsmoke\s+(?:coming|from|is)\b|\bon\s+fire\b|\bburning\s+smell\b",
    r"\bsewage\b|\boverflowing\b|\bblood\b|\bthrobbing\b|\bpuffy\b",
    r"\b(?:leak\w*|water)\s+(?:all\s+over|everywhere)\b|\b(?:major|huge|big|bad)\s+leak\b",
    r"\b(?:ac|a/c|air\s+conditioning|air\s+conditioner|air)\s+(?:is\s+|just\s+)?(?:died|dead|out|"
    r"broke|went\s+out|stopped\s+working|not\s+working)\b|\bno\s+(?:ac|a/c|air\s+conditioning)\b",
    r"\brotten\s+eggs?\b|\bheat(?:er|ing)?\s+(?:went|is|'s|has\s+gone)\s+out\b|\bfreezing\s+in\b",
    r"\bhelp\s+(?:me\s+)?(?:my|please|asap|now)\b",
    # Spanish
    r"\bdolor\b|\b(?:me\s+)?duele(?:n)?\b|\bdoliendo\b",
    r"\bsangr(?:a|an|ando|ado|e)\b|\bsangre\b",
    r"\bhinchad[oa]s?\b|\bhinchazon\b|\binflamad[oa]s?\b|\bse\s+me\s+hincho\b",
    r"\binfeccion\b|\bfiebre\b|\bpus\b",
    r"\binund\w*|\bagua\s+por\s+todos\s+lados\b|\bse\s+reviento\b",
    r"\bfuga\s+de\s+gas\b|\bhuele\s+a\s+gas\b|\bolor\s+a\s+gas\b",
    r"\bsin\s+calefaccion\b|\bno\s+(?:hay|tengo|tenemos)\s+calefaccion\b|"
    r"\bcalefaccion\s+no\s+funciona\b|\bno\s+funciona\s+la\s+calefaccion\b",
    r"\bno\s+puedo\s+respirar\b|\bhumo\b|\bfuego\b|\bauxilio\b|\bayuda\s+por\s+favor\b",
)
_AUTO_REPLY = _rx(
    r"\bi'?m\s+(?:currently\s+)?driving\b",
    r"\bi\s+am\s+(?:currently\s+)?driving\b",
    r"\bdriving\s+(?:right\s+now|now|with\s+do\s+not\s+disturb)\b",
    r"\bdo\s+not\s+disturb\b",
    r"\bauto[\s-]?(?:reply|response|matic\s+reply|mated\s+reply|mated\s+response)\b",
    r"^(?:this\s+is\s+an\s+)?automat(?:ic|ed)\s+(?:reply|response|message)",
    r"\bi'?ll\s+(?:get\s+back\s+to\s+you|see\s+your\s+message)\s+when\b",
    r"\bout\s+of\s+(?:the\s+)?office\b",
    r"\bcurrently\s+unavailable\b|\bnot\s+available\s+(?:right\s+now|at\s+the\s+moment)\b",
    r"\bmessage\s+(?:could\s+not|cannot|can'?t)\s+be\s+delivered\b|\bundeliverable\b",
    r"\bthis\s+number\s+(?:is\s+no\s+longer|does\s+not)\b",
    r"\bestoy\s+(?:manejando|conduciendo)\b|\brespuesta\s+automatica\b|\bno\s+molestar\b",
    r"\bfuera\s+de\s+la\s+oficina\b|\bestoy\s+en\s+(?:una\s+)?reunion\b",
    r"\bi'?m\s+busy\s+(?:right\s+)?now\b|\bwill\s+text\s+(?:you\s+)?(?:back\s+)?later\b",
    r"\bi'?m\s+in\s+a\s+meeting\b|\bcan'?t\s+talk\s+(?:right\s+)?now\b",
)
_HUMAN = _rx(
    r"\b(?:talk|speak|chat|text)\s+(?:to|with)\s+(?:a|an|the|your|some|someone|somebody|"
    r"real|actual|live|human|person|staff|receptionist|doctor|dr|manager|owner|front\s+desk|"
    r"agent|representative|rep|office|team|dentist|technician|tech)\b",
    r"\b(?:want|need|get)\s+(?:a|an)\s+(?:real|actual|live)\s+(?:person|human)\b",
    r"\b(?:real|live|actual)\s+(?:person|human)\s+(?:please|pls|plz)\b",
    r"\bhuman\s+(?:please|pls|plz)\b|^(?:agent|representative|operator|human|person)\s*[.!]*$",
    r"\b(?:can|could|would)\s+(?:someone|somebody|you|u|a\s+person)\s+(?:please\s+)?"
    r"(?:call|phone|ring)\s+me\b",
    r"\b(?:please\s+)?(?:call|phone)\s+me(?:\s+back)?\b(?!\s+(?:if|when))",
    r"\bhave\s+(?:someone|somebody|the\s+\w+)\s+call\s+me\b|\bgive\s+me\s+a\s+call\b",
    r"\bhablar\s+con\s+(?:una|un|alguien|la|el|su|persona)\b",
    r"\b(?:llamenme|llameme|marquenme)\b|\bme\s+(?:pueden|puede|podrian)\s+llamar\b",
    r"\bque\s+me\s+llame\b|\b(?:quiero|necesito)\s+(?:una\s+)?persona\s+real\b",
    r"\b(?:quiero|necesito)\s+(?:un\s+)?humano\b",
)
_IDENTITY = _rx(
    r"\bwho\s+(?:is|s)\s+(?:this|that|texting)\b|\bwho'?s\s+(?:this|texting)\b",
    r"\bwho\s+(?:are\s+you|r\s+u|is\s+this\s+from)\b|\bwhat\s+(?:is|s)\s+this\s+(?:number|about)\b",
    r"\bhow\s+did\s+you\s+get\s+my\s+number\b",
    r"\bor\s+(?:a\s+|an\s+)?(?:bot|robot|person|human|machine|ai)\b|\bwho\s+(?:sent|is\s+sending|texted)\b",
    r"\bquien\s+(?:me\s+)?(?:esta\s+)?(?:escribiendo|mando|envio|manda|escribe)\b",
    r"\bwho\s+am\s+i\s+(?:texting|talking|speaking|chatting|messaging)\b",
    r"\bcon\s+quien\s+(?:hablo|estoy\s+hablando|me\s+comunico|tengo\s+el\s+gusto)\b",
    r"\b(?:are\s+you|r\s+u|is\s+this|am\s+i\s+(?:talking|texting|chatting)\s+(?:to|with))\s+"
    r"(?:a\s+|an\s+)?(?:bot|robot|real|human|person|ai|a\.i\.|machine|automated|computer|"
    r"chatbot|live\s+person|actual)\b",
    r"\bis\s+this\s+(?:automated|an\s+automated|a\s+computer|ai)\b",
    r"\bquien\s+(?:es|eres|habla|me\s+escribe)\b|\bde\s+donde\s+(?:es|me\s+escriben)\b",
    r"\b(?:eres|es)\s+(?:un|una)\s+(?:bot|robot|maquina|persona|humano|ia)\b",
    r"\beres\s+(?:real|humano|persona)\b|\bes\s+automatico\b",
)
_RESCHEDULE = _rx(
    r"\bre-?schedul\w*\b|\bresched\b|\brebook\b",
    r"\b(?:move|moving|push|bump|shift|switch|change|changing)\s+(?:it|my|the|our|this|that|"
    r"her|his|appt|appointment|visit|time|day|date)\b",
    r"\bpush\s+(?:it\s+)?back\b|\bmove\s+(?:it\s+)?(?:up|to|earlier|later)\b",
    r"\b(?:different|another|other|new|later|earlier)\s+(?:time|day|date|slot)\b",
    r"\bcan'?t\s+make\s+it\b(?!\s+on\s+time)|\bcannot\s+make\s+it\b(?!\s+on\s+time)"
    r"|\bwon'?t\s+(?:be\s+able\s+to\s+)?make\s+it\b(?!\s+on\s+time)",
    r"\bcan'?t\s+(?:come|make)\b(?!\s+on\s+time)|\bunable\s+to\s+(?:come|make)\b",
    r"\bpostpone\b|\binstead\b",
    r"\bcan\s+(?:i|we)\s+(?:come|do)\s+(?:in\s+)?(?:on\s+)?(?:a\s+)?(?:"
    + "|".join(("mon", "tue", "wed", "thu", "fri", "sat", "sun", "tomorrow", "next", "later"))
    + r")",
    r"\breprogram\w*\b|\breagend\w*\b|\breprogramar\b|\bposponer\b|\baplazar\b",
    r"\bcambiar\s+(?:mi|la|el|de)\s+(?:cita|hora|dia|fecha|horario)\b|\bcambiar\s+la\s+cita\b",
    r"\bmover\s+(?:mi|la)\s+cita\b|\b(?:otro|otra)\s+(?:dia|hora|horario|fecha)\b",
    r"\bno\s+(?:puedo|podre|voy\s+a\s+poder)\s+(?:ir|llegar|asistir)\b(?!\s+a\s+tiempo)",
    r"\bse\s+puede\s+(?:cambiar|mover)\b|\bcambiar(?:la|lo)?\s+para\b",
    r"\bpuedo\s+ir\s+(?:el|otro|mas)\b|\ben\s+lugar\s+de\b|\bmejor\s+el\b",
)
_CANCEL = _rx(
    r"\bcancel+(?:ed|ing)?\s+(?:my|the|our|this|that|her|his|tomorrow'?s|today'?s|\w+'s|"
    r"appointment|appt|visit|booking|reservation|cleaning|session)\b",
    r"\b(?:need|have|want|going|like|gotta|wanna|must)\s+(?:to\s+)?cancel\b",
    r"\bplease\s+cancel\b|\bcancel\s+(?:please|pls|it\s+please)\b",
    r"\bcan\s+(?:i|you|we)\s+cancel\b|\bhow\s+(?:do|can)\s+i\s+cancel\b",
    r"\bcancel+ar\b|\bcancel(?:a|en|e)\s+(?:mi|la)\b|\banular\s+(?:mi|la)\s+cita\b",
    r"\b(?:ya\s+)?no\s+(?:voy\s+a\s+)?(?:necesito|quiero)\s+la\s+cita\b",
    r"\bno\s+longer\s+need\s+(?:the|my|this)\s+(?:appointment|appt|visit)\b",
)
_NOT_CANCEL = re.compile(
    r"\b(?:don'?t|do\s+not|not|no|never)\s+(?:want\s+to\s+|need\s+to\s+)?cancel\b"
    r"|\bno\s+(?:quiero\s+)?cancel(?:ar|en)\b"
)
_LATE = _rx(
    r"\brunning\s+(?:[\w\s]{0,25}?\s)?(?:late|behind)\b",
    r"\b(?:be|gonna\s+be|going\s+to\s+be|i'?ll\s+be|will\s+be|am|i'?m)\s+(?:a\s+(?:bit|little)\s+|"
    r"\w+\s+(?:min|mins|minutes)\s+|a\s+few\s+(?:min|mins|minutes)\s+|about\s+\w+\s+(?:min|mins|"
    r"minutes)\s+|\d+\s*(?:min|mins|minutes)\s+)?late\b",
    r"\blate\s+by\b|\bstuck\s+in\s+traffic\b|\btraffic\s+is\s+(?:bad|terrible|crazy)\b",
    r"\bon\s+my\s+way\b|\bomw\b|\bbe\s+there\s+in\s+(?:\d+|a\s+few|five|ten|fifteen|twenty)\b",
    r"\bmake\s+it\s+on\s+time\b|\bwon'?t\s+be\s+on\s+time\b|\bhere\s+in\s+\d+\b",
    r"\b(?:voy|llego|llegare|llegaremos|vamos)\s+(?:\w+\s+)?tarde\b|\bllegar\s+tarde\b",
    r"\bun\s+poco\s+tarde\b|\b(?:estoy|voy|vamos)\s+en\s+camino\b|\bllego\s+en\s+\d+\b",
    r"\bparking\s+now\b|\bjust\s+parked\b|\bpulling\s+in\b|\balmost\s+there\b",
    r"\bya\s+(?:voy|casi\s+llego|llegando)\b|\bmucho\s+trafico\b|\bllegar\s+a\s+tiempo\b|\bllegar\s+(?:\w+\s+){1,3}tarde\b",
)
_CONFIRM_MENU = re.compile(
    r"^(?:c|y|yes+|yessir|yes\s+sir|yep|yup|yeah|ya|yea|ok|okay|k|kk|sure|confirm(?:ed)?|i\s+confirm|"
    r"confirming|1|si+|claro|confirmo|confirmado|confirmada|de\s+acuerdo|va|vale|perfecto|"
    r"correcto|listo|absolutely|definitely|of\s+course|sounds\s+good|perfect|will\s+do|"
    r"yes\s+please|yes\s+ma'?am|yes\s+sir|si\s+gracias|yes\s+thanks?|yes\s+thank\s+you|"
    r"ok\s+thanks?|ok\s+thank\s+you|ok\s+gracias|si\s+confirmo|si\s+por\s+favor|"
    r"👍|👌|✅|👍🏻|👍🏼|👍🏽|👍🏾|👍🏿|🙂|😊)[\s.!]*$"
)
_CONFIRM_PHRASE = _rx(
    r"\bsee\s+you\s+(?:then|there|tomorrow|soon|on|at|\w+day)\b",
    r"\b(?:i'?ll|we'?ll|i\s+will|we\s+will|she'?ll|he'?ll)\s+be\s+there\b",
    r"\bi\s+confirm\b|\bconfirm(?:ed|ing)?\s+(?:my|the|for|it)\b|\bconfirmed\b",
    r"\bstill\s+(?:on|coming|good)\b|\bcount\s+(?:me|us)\s+in\b|\bwe'?re\s+good\b",
    r"\bahi\s+(?:estare|estaremos|nos\s+vemos)\b|\balli\s+estare\b|\bnos\s+vemos\b",
    r"\bconfirm(?:o|ado|ada|amos)\b|\bsi\s+(?:ahi|alli|voy|vamos|asistire)\b|\bsi\s+llego\b",
    r"\bthere\s+(?:at|on)\s+\d",
)
_ACK_PIECE = re.compile(
    r"(?:thanks?(?:\s+you)?|thank\s+(?:you|u)(?:\s+(?:so|very)\s+much)?|thx|ty|tysm|tyvm|"
    r"thanks?\s+(?:so\s+much|a\s+lot|again)|appreciate\s+it|much\s+appreciated|great|"
    r"awesome|cool|got\s+it|ok|okay|k|kk|np|perfect|sounds\s+good|noted|will\s+do|"
    r"gracias|muchas\s+gracias|mil\s+gracias|perfecto|vale|listo|entendido|genial|excelente|"
    r"de\s+nada|bueno|igualmente|(?:you(?:\s+guys)?\s+(?:are|r)|you'?re|u\s+r)\s+(?:the\s+best|"
    r"awesome|great|amazing)|you\s+rock|you\s+too|same\s+to\s+you|"
    r"(?:have\s+a\s+)?(?:good|great|nice|wonderful)\s+(?:day|one|night|weekend|evening)|"
    r"(?:thank\s+you|thanks)\s+for\s+(?:the\s+)?(?:reminder|info|information|help|text|"
    r"heads\s+up|letting\s+me\s+know)|"
    r"gracias\s+por\s+(?:el\s+recordatorio|la\s+informacion|avisar|todo)|"
    r"👍|🙏|❤️|😊|🙂|👌|👍🏻|👍🏼|👍🏽|👍🏾|👍🏿)"
)
_ACK_SPLIT = re.compile(r"[,.!;]+|\s+-\s+|\s+(?:and|y)\s+")


def _is_ack(low: str) -> bool:
    """Only thanks/acknowledgement phrases ("thanks, have a good day", "ok gracias")."""
    if len(low) > 120:
        return False
    pieces = [p.strip() for p in _ACK_SPLIT.split(low) if p.strip()]
    if not pieces:
        return False
    for piece in pieces:
        # "ok thanks" / "great thank you": the words split into ack phrases.
        if _ACK_PIECE.fullmatch(piece):
            continue
        if not _ack_words(piece.split()):
            return False
    return True


def _ack_words(words: list[str]) -> bool:
    """True when ``words`` split into consecutive ack phrases (greedy, at most 6 words)."""
    if not words:
        return True
    for cut in range(min(len(words), 6), 0, -1):
        if _ACK_PIECE.fullmatch(" ".join(words[:cut])) and _ack_words(words[cut:]):
            return True
    return False


_PRICE = _rx(
    r"\bhow\s+much\b|\bprice[sd]?\b|\bpricing\b|\bcosts?\b|\bcosting\b|\bfees?\b",
    r"\bwhat\s+do\s+you\s+charge\b|\bdo\s+you\s+charge\b|\bcharge\s+for\b|\brates?\s+for\b",
    r"\bhow\s+expensive\b|\bballpark\b|\bquote\b|\$\s?\?",
    r"\bcuanto\s+(?:cuesta|cobran|es|vale|sale|cuestan|seria|me\s+cobran)\b|\bprecios?\b",
    r"\bcostos?\b|\btarifas?\b|\bcuanto\s+por\b",
)
_INSURANCE = _rx(
    r"\binsurance\b|\binsured\b|\bin[\s-]network\b|\bout[\s-]of[\s-]network\b",
    r"\b(?:take|accept|accepted|taking)\s+(?:\w+\s+){0,2}(?:dental|insurance|plans?|medicaid|"
    r"medicare|cards?|credit|debit|visa|mastercard|amex|cash|checks?|care\s?credit|delta|aetna|"
    r"cigna|metlife|guardian|united|humana|blue\s+cross|bcbs|anthem|kaiser|tricare|ppo|hmo|"
    r"apple\s+pay|venmo|zelle|paypal|financing|payments?)\b",
    r"\bpayment\s+plans?\b|\bfinancing\b|\bpay\s+(?:with|by|in|over|monthly)\b",
    r"\bco-?pays?\b|\bdeductible\b|\bcover(?:ed|age|s)?\b|\bmedicaid\b|\bmedicare\b",
    r"\b(?:humana|aetna|cigna|metlife|guardian|anthem|kaiser|tricare|blue\s+cross|bcbs|"
    r"united\s+healthcare|uhc|delta)\b|\bis\s+(?:\w+\s+){1,3}accepted\b",
    r"\bhsa\b|\bfsa\b|\bcare\s?credit\b|\bdelta\s+dental\b",
    r"\bseguros?\b|\baseguranza\b|\bplan(?:es)?\s+de\s+pagos?\b|\bpagos?\s+a\s+plazos\b",
    r"\b(?:aceptan|toman|reciben)\s+(?:\w+\s+){0,2}(?:seguro|tarjeta|efectivo|medicaid|"
    r"medicare|cheques?|delta|aetna|cigna|pagos?)\b",
    r"\bfinanciamiento\b|\bpuedo\s+pagar\b|\bformas?\s+de\s+pago\b|\bmetodos?\s+de\s+pago\b",
)
_HOURS = _rx(
    r"\b(?:r\s+u|are\s+(?:you|u)|you)\s+open\b|\bopen\s+(?:till|until|til)\b|\bhours\b|\bare\s+you\s+(?:guys\s+)?open\b|\b(?:do|does)\s+(?:you|the\s+office)\s+"
    r"(?:guys\s+)?(?:open|close)\b",
    r"\bwhat\s+time\s+(?:do|are|does|is)\s+(?:you|the\s+office|it|your)\b",
    r"\bwhen\s+(?:do|are|does)\s+(?:you|the\s+office)\s+(?:guys\s+)?(?:open|close|closing|opening)\b",
    r"\bopen\s+(?:on\s+)?(?:today|tomorrow|tonight|now|late|early|weekends?|saturdays?|sundays?|"
    r"mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|on\s+\w+|this)\b",
    r"\b(?:opening|closing)\s+(?:time|hours)\b|\bwhen\s+do\s+you\s+close\b|\bstill\s+open\b",
    r"\bclosed\s+(?:on|today|tomorrow|for)\b|\bopen\s*\?|\bclose\s*\?",
    r"\bhorarios?\b|\bque\s+horas?\b|\babren\b|\bcierran\b|\babiertos?\b|\bcerrados?\b",
    r"\ba\s+que\s+hora\b|\bhasta\s+que\s+hora\b|\bestan\s+abiertos\b|\btrabajan\s+(?:el|los|hoy)\b",
)
_LOCATION = _rx(
    r"\bwhere\s+(?:are|r|is|s)\s+(?:you|u|the\s+office|your\s+(?:office|clinic|shop|store|"
    r"location|place|building)|it|y'?all)\b|\bwhere\s+(?:are|r)\s+(?:you|u)\s+(?:guys\s+)?located\b",
    r"\baddress\b|\blocation\b|\blocated\b|\bdirections?\b|\bhow\s+do\s+i\s+get\s+there\b",
    r"\bparking\b|\bwhere\s+(?:do|can|should)\s+i\s+park\b|\bwhich\s+(?:building|floor|suite)\b",
    r"\bcross\s+streets?\b|\bwhere\s+exactly\b|\bwhat\s+street\b",
    r"\bdonde\s+(?:estan|esta|queda|quedan|se\s+encuentran?|se\s+ubican)\b|\bdireccion\b",
    r"\ben\s+(?:que|cual)\s+calle\b",
    r"\bubicacion\b|\bubicados\b|\bcomo\s+llego\b|\bestacionamiento\b|\bdonde\s+me\s+estaciono\b",
)
_SERVICES = _rx(
    r"\bdo\s+(?:you|y'?all|u)\s+(?:guys\s+)?(?:do|offer|provide|have|fix|repair|install|treat|"
    r"see|service|work\s+on|handle|replace|clean|sell|make|perform|cut|color|take\s+care\s+of)\b",
    r"\bwhat\s+(?:services|kind\s+of\s+(?:services|work)|do\s+you\s+(?:do|offer))\b",
    r"\bservices\b|\bcan\s+you\s+(?:guys\s+)?(?:do|fix|repair|install|help\s+with|replace|"
    r"clean|handle|take\s+care\s+of)\b",
    r"\bdo\s+you\s+(?:guys\s+)?(?:work|come)\s+(?:on|out|to)\b|\bis\s+that\s+something\s+you\b",
    r"\b(?:ofrecen|hacen|arreglan|reparan|instalan|atienden|tienen\s+servicio|"
    r"que\s+servicios|trabajan\s+con)\b",
)
_BOOK = _rx(
    r"\b(?:book|schedule|make|set\s+up|get|need|want|like|request)\s+(?:me\s+)?(?:in\s+)?"
    r"(?:an?\s+|my\s+|a\s+new\s+|another\s+)?(?:appointment|appt|visit|cleaning|checkup|"
    r"check-up|exam|consult|consultation|haircut|estimate|service\s+call|session|time|spot)\b",
    r"\b(?:book|schedule)\b",
    r"\bcome\s+in\b|\bget\s+(?:in|seen)\b|\bnew\s+(?:patient|client|customer)\b",
    r"\b(?:any|have|got)\s+(?:openings?|availability|spots?|slots?)\b|\bavailab\w+\b",
    r"\baccepting\s+new\b|\b(?:do\s+you\s+have|have\s+you\s+got|got)\s+anything\b",
    r"\bwalk[\s-]?ins?\b|\bsend\s+(?:someone|somebody|a\s+tech|a\s+technician|a\s+plumber)\b",
    r"\bneed\s+(?:a|an|someone|somebody)\s+(?:to\s+)?(?:plumber|technician|tech|electrician|"
    r"come|look|fix|cleaning|appointment|haircut|checkup|visit|estimate)\b",
    r"\bcan\s+someone\s+come\b|\bsomeone\s+to\s+(?:come|fix|look)\b",
    r"\bagendar\b|\b(?:hacer|sacar|pedir|quiero|necesito|tienen|hay)\s+(?:una\s+)?citas?\b",
    r"\bpacientes?\s+nuev[oa]s?\b|\bnuev[oa]s\s+pacientes\b|\bque\s+vengan\b",
    r"\bvenir\s+a\s+(?:revisar|arreglar|ver)\b|\bmandar\s+a\s+alguien\b|\btienen\s+algo\b",
    r"\blooking\s+for\s+(?:a|an)\s+(?:new\s+|good\s+)?\w+\b|\bhow\s+soon\s+can\s+(?:you|someone)\b",
    r"\breservar\b|\bdisponib\w+\b|\bespacio\b|\bpaciente\s+nuev[oa]\b|\bhacerme\s+una\b",
)
_COMPLAINT = _rx(
    r"\bterrible\b|\bhorrible\b|\bawful\b|\bworst\b|\brude\b|\bunprofessional\b",
    r"\b(?:been\s+)?waiting\s+(?:for\s+)?(?:over\s+)?(?:an?\s+|\d+\s+)?(?:hour|hours|min|mins|minutes)\b",
    r"\b(?:you|they|your\s+\w+)\s+(?:guys\s+)?(?:broke|damaged|ruined)\b|\bdecepcionad[oa]\b",
    r"\boutrageous\b|\bleft\s+a\s+mess\b|\b(?:didn'?t|did\s+not|never)\s+fix\b",
    r"\bworse\s+than\s+(?:before|ever)\b|\bscam\b|\brip[\s-]?off\b",
    r"\bridiculous\b|\bunacceptable\b|\bdisappoint\w*\b|\bnot\s+happy\b|\bunhappy\b",
    r"\bangry\b|\bupset\b|\bcomplain\w*\b|\bfurious\b|\bfrustrat\w+\b|\bpissed\b",
    r"\bwaited\s+(?:for\s+)?(?:over\s+)?(?:an?\s+|\d+\s+)?(?:hour|hours|forever|min|minutes)\b",
    r"\bovercharg\w+\b|\bcharged\s+(?:me\s+)?twice\b|\bdouble\s+charged\b|\brefund\b",
    r"\bnever\s+(?:showed|came|called\s+back)\b|\bno[\s-]show(?:ed)?\b|\bdidn'?t\s+show\b",
    r"\bstill\s+(?:broken|not\s+fixed|leaking|not\s+working)\b|\bmessed\s+up\b",
    r"\bbad\s+(?:service|experience)\b|\bpoor\s+(?:service|work|job)\b|\bwaste\s+of\b",
    r"\bmolest[oa]\b|\bqueja\b|\bpesim\w+\b|\bmal\s+servicio\b|\bme\s+cobraron\s+de\s+mas\b",
    r"\breembolso\b|\bnadie\s+(?:llego|vino)\b|\bnunca\s+(?:llegaron|vinieron)\b",
    r"\bno\s+estoy\s+content[oa]\b|\bgroser\w+\b|\bespere\s+(?:mas\s+de\s+)?(?:una|\d+)\b",
)
_AVAILABILITY = _rx(
    r"\b(?:do\s+you\s+have|any)\s+(?:\w+\s+){1,2}(?:appointments?|openings?|availability|slots?|"
    r"spots?)\b",
    r"\b(?:do\s+you\s+have|have\s+you\s+got|got|any)\s+(?:anything|something|spots?|"
    r"openings?|slots?|availability|appointments?)\b",
    r"\b(?:tienen|hay)\s+(?:algo|espacio|citas?|disponibilidad)\b",
)
_QUESTION_SMALL = re.compile(r"^(?:hi|hello|hey|hola|buenas|buenos\s+dias)[\s!.,]*$")
_ORDINALS = {
    "first": "1", "1st": "1", "primera": "1", "primero": "1", "one": "1", "uno": "1",
    "second": "2", "2nd": "2", "segunda": "2", "segundo": "2", "two": "2", "dos": "2",
    "third": "3", "3rd": "3", "tercera": "3", "tercero": "3", "three": "3", "tres": "3",
}  # fmt: skip
_CHOICE_RE = re.compile(
    r"^(?:(?:option|opcion|number|numero|#|the|la|el|lo)\s*)*"
    rf"(?P<n>[1-9]|{'|'.join(_ORDINALS)})"
    r"(?:\s+(?:one|option|opcion|please|pls|plz|por\s+favor|works|is\s+good|esta\s+bien))*"
    r"[\s.!)]*$"
)


def _choice(low: str) -> str | None:
    """A menu pick after slots were offered: "2", "option 3 please", "the second one",
    "la primera opción"."""
    m = _CHOICE_RE.match(low)
    if m is None:
        return None
    n = m.group("n")
    return n if n.isdigit() else _ORDINALS[n]


_RESCHEDULE_MENU = re.compile(r"^(?:r|2|reprogramar|cambiar|change|move)[\s.!]*$")


def _has(pattern: re.Pattern[str], low: str) -> bool:
    return pattern.search(low) is not None


def classify(
    text: str,
    *,
    now: datetime,
    timezone: str,
    state: str = "idle",
    has_appointment: bool = False,
    default_language: str = "en",
) -> IntentMatch:
    """The receptionist intent of one inbound text, with extracted slots
    (``proposed_time``/``proposed_date``/``proposed_clock``, ``choice``, ``name``, ``zip``)."""
    low = fold(text)
    lang = detect_language(text, default_language)
    if not low:
        return IntentMatch(Intent.OTHER, lang, rule="empty")
    pending = has_appointment or state in APPOINTMENT_STATES

    def match(intent: Intent, rule: str, slots: dict[str, str] | None = None) -> IntentMatch:
        return IntentMatch(intent, lang, dict(slots or {}), rule)

    def time_slots() -> dict[str, str]:
        expr = extract_time(text, now, timezone)
        return expr.slots() if expr is not None else {}

    if _has(_URGENT, low) and not (_NEGATED_PAIN.search(low) and not _strong_urgent(low)):
        return match(Intent.URGENT, "urgent")
    if _has(_AUTO_REPLY, low):
        return match(Intent.AUTO_REPLY, "auto_reply")
    if state == "collecting_lead":
        lead = _lead_slots(text, now, timezone)
        if "name" in lead or "zip" in lead:
            return match(Intent.PROVIDE_INFO, "lead", lead)
    if _has(_HUMAN, low):
        return match(Intent.HUMAN_REQUEST, "human")
    if _has(_IDENTITY, low):
        return match(Intent.ASK_IDENTITY, "identity")

    if state == "offering_slots":
        choice = _choice(low)
        if choice:
            return match(Intent.PROVIDE_INFO, "slot_choice", {"choice": choice})
    if pending and _RESCHEDULE_MENU.match(low):
        return match(Intent.RESCHEDULE, "menu_r")
    if pending and _menu_confirm(low):
        return match(Intent.CONFIRM_APPOINTMENT, "menu_c")

    if _has(_RESCHEDULE, low):
        return match(Intent.RESCHEDULE, "reschedule", time_slots())
    if _has(_CANCEL, low) and not _has(_NOT_CANCEL, low):
        return match(Intent.CANCEL_APPOINTMENT, "cancel")
    if _has(_LATE, low):
        return match(Intent.RUNNING_LATE, "late")
    if _has(_CONFIRM_PHRASE, low) and not low.endswith("?"):
        return match(Intent.CONFIRM_APPOINTMENT, "confirm_phrase")
    if _has(_COMPLAINT, low):
        return match(Intent.COMPLAINT, "complaint")

    price = _has(_PRICE, low)
    insurance = _has(_INSURANCE, low)
    if insurance and (not price or re.search(r"\bcover|\binsurance\s+pay|\bseguro\s+cubre", low)):
        return match(Intent.ASK_INSURANCE_PAYMENT, "insurance")
    if price:
        return match(Intent.ASK_PRICE, "price")
    if insurance:
        return match(Intent.ASK_INSURANCE_PAYMENT, "insurance")
    if _has(_AVAILABILITY, low):
        return match(Intent.BOOK_NEW, "availability", time_slots())
    if _has(_HOURS, low):
        return match(Intent.ASK_HOURS, "hours", time_slots())
    if _has(_LOCATION, low):
        return match(Intent.ASK_LOCATION, "location")
    if _has(_BOOK, low):
        return match(Intent.BOOK_NEW, "book", time_slots())
    if _has(_SERVICES, low):
        return match(Intent.ASK_SERVICES, "services")

    info = _lead_slots(text, now, timezone)
    if info and (state in {"offering_slots", "collecting_lead"} or "name" in info or "zip" in info):
        return match(Intent.PROVIDE_INFO, "lead", info)
    if info and "proposed_time" in info:
        if pending:
            return match(Intent.RESCHEDULE, "time_only", info)
        return match(Intent.BOOK_NEW, "time_only", info)
    if _is_ack(low):
        return match(Intent.THANKS_ACK, "thanks")
    if _CONFIRM_MENU.match(low):
        if state == "collecting_lead":
            return match(Intent.PROVIDE_INFO, "yes_to_question")
        return match(Intent.THANKS_ACK, "ack_without_pending")
    if _QUESTION_SMALL.match(low):
        return match(Intent.OTHER, "greeting")
    return match(Intent.OTHER, "unrecognised")


_STRONG_URGENT = _rx(
    r"\bbleed\w*\b|\bswell\w*|\bswollen\b|\bflood\w*\b|\bgas\b|\bemergency\b|\bemergencia\b",
    r"\bsangr\w+\b|\bhinch\w+\b|\binund\w+\b|\bfever\b|\bfiebre\b|\burgent\w*\b",
)


def _menu_confirm(low: str) -> bool:
    """ "C", "yes", "👍", or one of them followed by confirm/thanks words ("yes confirm",
    "C thanks", "ok see you")."""
    if _CONFIRM_MENU.match(low):
        return True
    head, _, rest = low.partition(" ")
    if not rest or _CONFIRM_MENU.match(head.rstrip(",.!")) is None:
        return False
    rest = rest.strip(" ,.!")
    return bool(_CONFIRM_MENU.match(rest) or _is_ack(rest) or _CONFIRM_PHRASE.search(rest))


def _strong_urgent(low: str) -> bool:
    """Urgent words that a nearby negation of pain does not cancel ("no pain but it's
    bleeding a lot")."""
    return _STRONG_URGENT.search(low) is not None


def _lead_slots(text: str, now: datetime, timezone: str) -> dict[str, str]:
    slots: dict[str, str] = {}
    name = extract_name(text)
    if name:
        slots["name"] = name
    zip_code = extract_zip(text)
    if zip_code:
        slots["zip"] = zip_code
    expr = extract_time(text, now, timezone)
    if expr is not None:
        slots.update(expr.slots())
    return slots
