"""SMPP 3.4 wire format: PDU framing, the handful of operations an ESME needs, text coding.

Only what ``providers/smpp.py`` speaks is here: ``bind_transceiver``, ``submit_sm``,
``deliver_sm``, ``query_sm``, ``enquire_link``, ``unbind``, their responses and
``generic_nack``.
Every PDU is ``command_length | command_id | command_status | sequence_number`` (four
big-endian uint32) and a body of C-octet strings, single octets and optional TLVs.

Text coding (R-S-01, T-17). ``frontdesk.domain.segments.count`` decides the encoding the
way Twilio's calculator does, and this module splits a body at the same boundaries so
that what the SMSC bills is what we counted:

* GSM-7 travels as ``data_coding`` 0 (SMSC default alphabet) with one octet per septet
  (unpacked GSM 03.38 code points, as SMPP 3.4 §5.2.19 leaves packing to the SMSC); an
  extension character is the escape 0x1B followed by its code, and the pair is one
  placement unit, so it is never split across parts.
* UCS-2 travels as ``data_coding`` 8, UTF-16BE; an astral character (emoji) is a
  surrogate pair, and whole grapheme clusters (Unicode 10, as the calculator splits them)
  are placed whole, so a pair is never split.
* A concatenated part carries the 6-octet UDH ``05 00 03 ref total seq`` (IEI 0x00,
  8-bit reference) and ``esm_class`` UDHI (0x40); parts hold at most 153 septets or
  67 UTF-16 units. The only deliberate divergence from the calculator: a single grapheme
  cluster longer than a whole part (e.g. a letter with 80 combining marks), which the
  calculator leaves as one over-full segment, is cut at code-point boundaries (never
  inside a surrogate pair) because a part above 140 octets cannot go over the air.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import accumulate

from frontdesk.domain import segments
from frontdesk.domain.segments import GSM7_BASIC, GSM7_EXTENSION, Encoding

__all__ = [
    "ESM_UDHI",
    "HEADER",
    "CommandId",
    "DeliverSm",
    "EncodedMessage",
    "Pdu",
    "PduError",
    "Tlv",
    "decode_deliver_sm",
    "decode_pdu",
    "decode_text",
    "encode_pdu",
    "encode_text",
    "parse_udh",
]

HEADER = struct.Struct(">IIII")
MAX_PDU_LENGTH = 65536
INTERFACE_VERSION = 0x34

ESM_UDHI = 0x40
ESM_TYPE_MASK = 0x3C
ESM_DELIVERY_RECEIPT = 0x04
ESM_INTERMEDIATE_NOTIFICATION = 0x20

DATA_CODING_DEFAULT = 0x00
DATA_CODING_IA5 = 0x01
DATA_CODING_LATIN1 = 0x03
DATA_CODING_UCS2 = 0x08

TON_UNKNOWN = 0
TON_INTERNATIONAL = 1
TON_NETWORK_SPECIFIC = 3
TON_ALPHANUMERIC = 5
NPI_UNKNOWN = 0
NPI_ISDN = 1

TAG_RECEIPTED_MESSAGE_ID = 0x001E
TAG_NETWORK_ERROR_CODE = 0x0423
TAG_MESSAGE_PAYLOAD = 0x0424
TAG_MESSAGE_STATE = 0x0427

_UDH_OCTETS = 6
_GSM_PART_SEPTETS = 153
_UCS2_PART_UNITS = 67
_PAYLOAD_BITS = 1120
_PART_BITS = _PAYLOAD_BITS - 8 * _UDH_OCTETS


class CommandId(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003


class PduError(ValueError):
    """A PDU that cannot be framed or parsed; the session answers generic_nack or drops."""


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes


@dataclass(frozen=True, slots=True)
class Pdu:
    command_id: int
    sequence: int
    status: int = 0
    body: bytes = b""

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & 0x80000000)


def encode_pdu(pdu: Pdu) -> bytes:
    return HEADER.pack(HEADER.size + len(pdu.body), pdu.command_id, pdu.status, pdu.sequence) + (
        pdu.body
    )


def decode_pdu(frame: bytes) -> Pdu:
    """Parse one whole PDU (header included), as framed by the reader."""
    if len(frame) < HEADER.size:
        raise PduError("short PDU")
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduError("command_length does not match the frame")
    return Pdu(command_id, sequence, status, frame[HEADER.size :])


def cstring(value: str, limit: int) -> bytes:
    raw = value.encode("ascii")
    if len(raw) >= limit or b"\x00" in raw:
        raise PduError(f"C-octet string longer than {limit - 1} octets")
    return raw + b"\x00"


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise PduError("unterminated C-octet string")
        value = self.data[self.pos : end].decode("latin-1")
        self.pos = end + 1
        return value

    def octet(self) -> int:
        if self.pos >= len(self.data):
            raise PduError("PDU body ends early")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def octets(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PduError("PDU body ends early")
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value

    def tlvs(self) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        while self.pos + 4 <= len(self.data):
            tag, length = struct.unpack_from(">HH", self.data, self.pos)
            self.pos += 4
            found[tag] = self.octets(length)
        return found


def bind_transceiver_body(system_id: str, password: str, system_type: str) -> bytes:
    return (
        cstring(system_id, 16)
        + cstring(password, 9)
        + cstring(system_type, 13)
        + bytes([INTERFACE_VERSION, TON_UNKNOWN, NPI_UNKNOWN])
        + cstring("", 41)
    )


def submit_sm_body(
    *,
    source: tuple[int, int, str],
    destination: tuple[int, int, str],
    esm_class: int,
    data_coding: int,
    short_message: bytes,
    registered_delivery: int = 1,
    service_type: str = "",
    tlvs: Iterable[Tlv] = (),
) -> bytes:
    """``submit_sm`` (SMPP 3.4 §4.4.1); ``registered_delivery`` 1 asks for a final receipt."""
    if len(short_message) > 254:
        raise PduError("short_message above 254 octets")
    src_ton, src_npi, src_addr = source
    dst_ton, dst_npi, dst_addr = destination
    body = (
        cstring(service_type, 6)
        + bytes([src_ton, src_npi])
        + cstring(src_addr, 21)
        + bytes([dst_ton, dst_npi])
        + cstring(dst_addr, 21)
        + bytes([esm_class, 0, 0])
        + cstring("", 17)
        + cstring("", 17)
        + bytes([registered_delivery, 0, data_coding, 0, len(short_message)])
        + short_message
    )
    for tlv in tlvs:
        body += struct.pack(">HH", tlv.tag, len(tlv.value)) + tlv.value
    return body


def message_id_body(message_id: str) -> bytes:
    """``submit_sm_resp`` / ``deliver_sm_resp`` body: the message_id C-octet string."""
    return cstring(message_id, 65)


def parse_message_id(body: bytes) -> str | None:
    """message_id of a ``submit_sm_resp``; absent (None) when the SMSC sent no body."""
    if not body:
        return None
    return _Reader(body).cstring()


def query_sm_body(message_id: str, source: tuple[int, int, str]) -> bytes:
    """``query_sm`` (SMPP 3.4 §4.8.1): the SMSC's message id and the source address the
    message was submitted with (SMSCs match on both)."""
    ton, npi, addr = source
    return cstring(message_id, 65) + bytes([ton, npi]) + cstring(addr, 21)


@dataclass(frozen=True, slots=True)
class QuerySmResp:
    """``query_sm_resp`` (§4.8.2): ``message_state`` as in the receipt TLV (1 ENROUTE …
    8 REJECTED), ``error_code`` the network-specific error of a failed delivery."""

    message_id: str
    final_date: str
    message_state: int
    error_code: int


def parse_query_sm_resp(body: bytes) -> QuerySmResp:
    r = _Reader(body)
    return QuerySmResp(r.cstring(), r.cstring(), r.octet(), r.octet())


def parse_system_id(body: bytes) -> str | None:
    return _Reader(body).cstring() if body else None


@dataclass(frozen=True, slots=True)
class DeliverSm:
    """A parsed ``deliver_sm`` (or ``submit_sm``: same layout, SMPP 3.4 §4.6.1)."""

    service_type: str
    source_ton: int
    source_npi: int
    source_addr: str
    dest_ton: int
    dest_npi: int
    destination_addr: str
    esm_class: int
    registered_delivery: int
    data_coding: int
    short_message: bytes
    tlvs: Mapping[int, bytes] = field(default_factory=dict)

    @property
    def is_receipt(self) -> bool:
        kind = self.esm_class & ESM_TYPE_MASK
        return (
            kind in (ESM_DELIVERY_RECEIPT, ESM_INTERMEDIATE_NOTIFICATION)
            or TAG_RECEIPTED_MESSAGE_ID in self.tlvs
        )

    @property
    def payload(self) -> bytes:
        """short_message, or the message_payload TLV when short_message is empty."""
        if not self.short_message and TAG_MESSAGE_PAYLOAD in self.tlvs:
            return self.tlvs[TAG_MESSAGE_PAYLOAD]
        return self.short_message


def decode_deliver_sm(body: bytes) -> DeliverSm:
    r = _Reader(body)
    service_type = r.cstring()
    source_ton, source_npi = r.octet(), r.octet()
    source_addr = r.cstring()
    dest_ton, dest_npi = r.octet(), r.octet()
    destination_addr = r.cstring()
    esm_class = r.octet()
    r.octet()  # protocol_id
    r.octet()  # priority_flag
    r.cstring()  # schedule_delivery_time
    r.cstring()  # validity_period
    registered_delivery = r.octet()
    r.octet()  # replace_if_present_flag
    data_coding = r.octet()
    r.octet()  # sm_default_msg_id
    short_message = r.octets(r.octet())
    return DeliverSm(
        service_type=service_type,
        source_ton=source_ton,
        source_npi=source_npi,
        source_addr=source_addr,
        dest_ton=dest_ton,
        dest_npi=dest_npi,
        destination_addr=destination_addr,
        esm_class=esm_class,
        registered_delivery=registered_delivery,
        data_coding=data_coding,
        short_message=short_message,
        tlvs=r.tlvs(),
    )


# --- text ---------------------------------------------------------------------------

_GSM_BASIC_ORDER = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION_CODES = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_GSM_ENCODE: dict[str, bytes] = {ch: bytes([i]) for i, ch in enumerate(_GSM_BASIC_ORDER)}
_GSM_ENCODE.update({ch: bytes([0x1B, code]) for ch, code in _GSM_EXTENSION_CODES.items()})
del _GSM_ENCODE["\x1b"]
_GSM_DECODE = dict(enumerate(_GSM_BASIC_ORDER))
_GSM_EXT_DECODE = {code: ch for ch, code in _GSM_EXTENSION_CODES.items()}

assert set(_GSM_ENCODE) == GSM7_BASIC | GSM7_EXTENSION


def gsm_encode(text: str) -> bytes:
    return b"".join(_GSM_ENCODE[ch] for ch in text)


def gsm_decode(data: bytes) -> str:
    out: list[str] = []
    escape = False
    for octet in data:
        if escape:
            out.append(_GSM_EXT_DECODE.get(octet, _GSM_DECODE.get(octet & 0x7F, " ")))
            escape = False
        elif octet == 0x1B:
            escape = True
        else:
            out.append(_GSM_DECODE.get(octet & 0x7F, " "))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class EncodedMessage:
    """A body ready for ``submit_sm``: its data_coding and the payload of each part."""

    encoding: Encoding
    data_coding: int
    parts: tuple[bytes, ...]


def encode_text(body: str) -> EncodedMessage:
    """Encode and split a body at the boundaries ``segments.count`` bills (R-S-01, T-17)."""
    counted = segments.count(body)
    text = counted.body
    if counted.encoding is Encoding.GSM7:
        units = [_GSM_ENCODE[ch] for ch in text]
        sizes = [7 * len(u) for u in units]
        parts = [b"".join(units[a:b]) for a, b in _placement(sizes)]
        return EncodedMessage(Encoding.GSM7, DATA_CODING_DEFAULT, tuple(parts) or (b"",))
    clusters = segments.graphemes(text)
    chunks: list[bytes] = []
    for cluster in clusters:
        data = cluster.encode("utf-16-be", "surrogatepass")
        if len(data) <= 2 * _UCS2_PART_UNITS:
            chunks.append(data)
        else:
            chunks.extend(_cut_long_cluster(cluster))
    sizes = [8 * len(c) for c in chunks]
    parts = [b"".join(chunks[a:b]) for a, b in _placement(sizes)]
    return EncodedMessage(Encoding.UCS2, DATA_CODING_UCS2, tuple(parts))


def _cut_long_cluster(cluster: str) -> list[bytes]:
    pieces: list[bytes] = []
    current = b""
    for ch in cluster:
        data = ch.encode("utf-16-be", "surrogatepass")
        if len(current) + len(data) > 2 * _UCS2_PART_UNITS:
            pieces.append(current)
            current = b""
        current += data
    if current:
        pieces.append(current)
    return pieces


def _placement(sizes: list[int]) -> list[tuple[int, int]]:
    """Part boundaries ``[(start, end), ...]`` over placement units of ``sizes`` bits.

    The same placement as ``segments._segments`` (Twilio's ``_buildSegments``): units go
    whole into 1120-bit segments; when a second segment opens, every segment carries the
    48-bit UDH, the first keeps what fits in 1072 bits and the rest moves on.
    """
    total = len(sizes)
    prefix = [0, *accumulate(sizes)]
    if prefix[total] <= _PAYLOAD_BITS:
        return [(0, total)] if total else []
    first_end = _last_fit(prefix, _PAYLOAD_BITS, 0, total)
    kept = _last_fit(prefix, _PART_BITS, 0, first_end)
    starts = [0, kept]
    used = _PAYLOAD_BITS - _PART_BITS + prefix[first_end] - prefix[kept] + sizes[first_end]
    index = first_end + 1
    while index < total:
        limit = _PAYLOAD_BITS - used + prefix[index]
        stop = max(index, _last_fit(prefix, limit, index, total))
        if stop >= total:
            break
        starts.append(stop)
        used = _PAYLOAD_BITS - _PART_BITS + sizes[stop]
        index = stop + 1
    bounds = list(zip(starts, [*starts[1:], total], strict=True))
    return [(a, b) for a, b in bounds if b > a]


def _last_fit(prefix: list[int], limit: int, lo: int, hi: int) -> int:
    """Largest ``i`` in ``[lo, hi]`` with ``prefix[i] <= limit`` (``lo`` when none)."""
    best = lo
    left, right = lo, hi
    while left <= right:
        mid = (left + right) // 2
        if prefix[mid] <= limit:
            best = mid
            left = mid + 1
        else:
            right = mid - 1
    return best


def udh_concat(reference: int, total: int, sequence: int) -> bytes:
    """The concatenation UDH: IEI 0x00, 8-bit reference (3GPP TS 23.040 §9.2.3.24.1)."""
    return bytes([0x05, 0x00, 0x03, reference & 0xFF, total, sequence])


def parse_udh(payload: bytes) -> tuple[tuple[int, int, int] | None, bytes]:
    """Split a UDHI payload: ``((reference, total, sequence) or None, text octets)``.

    Recognises concatenation IEIs 0x00 (8-bit reference) and 0x08 (16-bit reference).
    """
    if not payload:
        return None, payload
    udhl = payload[0]
    header, rest = payload[1 : 1 + udhl], payload[1 + udhl :]
    concat: tuple[int, int, int] | None = None
    i = 0
    while i + 2 <= len(header):
        iei, length = header[i], header[i + 1]
        data = header[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3:
            concat = (data[0], data[1], data[2])
        elif iei == 0x08 and length == 4:
            concat = ((data[0] << 8) | data[1], data[2], data[3])
        i += 2 + length
    return concat, rest


def decode_text(data: bytes, data_coding: int) -> str:
    """Decode short_message text by ``data_coding`` (0 GSM-7 unpacked, 1 IA5, 3, 8)."""
    if data_coding == DATA_CODING_UCS2:
        return data.decode("utf-16-be", "replace")
    if data_coding == DATA_CODING_LATIN1:
        return data.decode("latin-1")
    if data_coding == DATA_CODING_IA5:
        return data.decode("ascii", "replace")
    return gsm_decode(data)
