"""Which audio or video format an upload is, judged from its first bytes only.

Uploads are accepted or refused (415) by what their bytes are, never by the file
name or the client's Content-Type, and the type found here is the one stored and
served. Only the first ``SNIFF_LENGTH`` bytes count, so an upload can be judged
while it streams. The checks are narrow on purpose: a head that is not clearly a
known container gives None rather than a guess (ISO BMFF image brands such as
AVIF and HEIC, RIFF WebP, text, executables, archives and images all give None),
and any input gives a result, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

from klantroef_core.domain.media import MediaType

SNIFF_LENGTH = 256
"""Leading bytes ``sniff`` looks at: an ``ftyp`` box with its brands, an EBML header,
and the first Ogg pages (a Skeleton page may come before the Theora one)."""


@dataclass(frozen=True, slots=True)
class SniffedKind:
    """A recognised format: the canonical MIME type to store and serve, and its kind."""

    content_type: str
    media_type: MediaType


MP4_VIDEO = SniffedKind("video/mp4", MediaType.VIDEO)
MP4_AUDIO = SniffedKind("audio/mp4", MediaType.AUDIO)
QUICKTIME = SniffedKind("video/quicktime", MediaType.VIDEO)
WEBM = SniffedKind("video/webm", MediaType.VIDEO)
MATROSKA = SniffedKind("video/x-matroska", MediaType.VIDEO)
OGG_AUDIO = SniffedKind("audio/ogg", MediaType.AUDIO)
OGG_VIDEO = SniffedKind("video/ogg", MediaType.VIDEO)
MPEG_AUDIO = SniffedKind("audio/mpeg", MediaType.AUDIO)
WAV = SniffedKind("audio/wav", MediaType.AUDIO)
FLAC = SniffedKind("audio/flac", MediaType.AUDIO)
AAC = SniffedKind("audio/aac", MediaType.AUDIO)
AVI = SniffedKind("video/x-msvideo", MediaType.VIDEO)


def sniff(head: bytes | bytearray | memoryview) -> SniffedKind | None:
    """The format of a file that starts with ``head``, or None when it is not one we serve.

    Bytes past ``SNIFF_LENGTH`` are ignored; a shorter head (a tiny file) is judged
    on what it has.
    """
    data = bytes(head[:SNIFF_LENGTH])
    for check in (_iso_bmff, _ebml, _ogg, _riff, _flac, _id3, _adts, _mpeg_audio):
        kind = check(data)
        if kind is not None:
            return kind
    return None


# --- ISO base media (MP4, M4A, MOV, 3GP) ------------------------------------------------


def _brands(names: str) -> frozenset[bytes]:
    """Four-character codes from a spaced list; shorter names are padded with spaces."""
    return frozenset(name.encode("ascii").ljust(4) for name in names.split())


_GENERIC_BRANDS = _brands("isom iso2 iso3 iso4 iso5 iso6 iso7 iso8 iso9 mp41 mp42 mp71 dash")
_SPECIFIC_BRANDS: dict[bytes, SniffedKind] = {
    **dict.fromkeys(_brands("M4A M4B M4P F4A F4B"), MP4_AUDIO),
    **dict.fromkeys(_brands("qt"), QUICKTIME),
    **dict.fromkeys(
        _brands("avc1 av01 M4V M4VH M4VP F4V F4P MSNV NDAS XAVC mmp4")
        | _brands("3gp4 3gp5 3gp6 3gp7 3ge6 3gg6 3g2a 3g2b 3g2c"),
        MP4_VIDEO,
    ),
}
_IMAGE_BRANDS = _brands("mif1 msf1 heic heix heim heis hevc hevx avif avis crx jpx jpm")
_LEGACY_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def _iso_bmff(head: bytes) -> SniffedKind | None:
    if head[4:8] != b"ftyp":
        return _legacy_quicktime(head)
    box_size = int.from_bytes(head[:4], "big")
    if len(head) < 12 or box_size < 16:
        return None
    major = head[8:12]
    compatible = [head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)]
    if major in _IMAGE_BRANDS or any(brand in _IMAGE_BRANDS for brand in compatible):
        return None
    if major in _SPECIFIC_BRANDS:
        return _SPECIFIC_BRANDS[major]
    specific = [_SPECIFIC_BRANDS[brand] for brand in compatible if brand in _SPECIFIC_BRANDS]
    if specific:
        # A video brand beside an audio one (avc1 with M4A) means the file has video.
        return next((k for k in specific if k.media_type is MediaType.VIDEO), specific[0])
    if major in _GENERIC_BRANDS or any(brand in _GENERIC_BRANDS for brand in compatible):
        return MP4_VIDEO
    return None


def _legacy_quicktime(head: bytes) -> SniffedKind | None:
    """A QuickTime movie from before ``ftyp``: it opens with a movie-level atom."""
    first, size = head[4:8], int.from_bytes(head[:4], "big")
    if first not in _LEGACY_QUICKTIME_ATOMS or len(head) < 8:
        return None
    if first == b"mdat":
        return QUICKTIME if size in (0, 1) or size >= 8 else None
    if first == b"moov":
        return QUICKTIME if head[12:16] in (b"", b"mvhd", b"cmov", b"prfl") else None
    # A small leading atom (wide, free, skip, pnot) must be followed by another movie atom.
    return QUICKTIME if size >= 8 and head[size + 4 : size + 8] in _LEGACY_QUICKTIME_ATOMS else None


# --- EBML (WebM, Matroska) ---------------------------------------------------------------

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE_ID = 0x4282
_DOCTYPES = {b"webm": WEBM, b"matroska": MATROSKA}


def _read_vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at ``pos``: its value and the position after it."""
    if pos >= len(data) or data[pos] == 0:
        return None
    width = 9 - data[pos].bit_length()
    if pos + width > len(data):
        return None
    value = data[pos] if keep_marker else data[pos] & (0xFF >> width)
    for byte in data[pos + 1 : pos + width]:
        value = value << 8 | byte
    return value, pos + width


def _ebml(head: bytes) -> SniffedKind | None:
    if not head.startswith(_EBML_MAGIC):
        return None
    header = _read_vint(head, len(_EBML_MAGIC), keep_marker=False)
    if header is None:
        return None
    size, pos = header
    end = min(pos + size, len(head))
    while pos < end:
        element = _read_vint(head, pos, keep_marker=True)
        if element is None:
            return None
        element_id, pos = element
        length = _read_vint(head, pos, keep_marker=False)
        if length is None:
            return None
        value_size, pos = length
        if element_id == _EBML_DOCTYPE_ID:
            if pos + value_size > len(head):
                return None
            return _DOCTYPES.get(head[pos : pos + value_size].rstrip(b"\x00"))
        pos += value_size
    return None


# --- Ogg -----------------------------------------------------------------------------------

_OGG_PAGE_HEADER = 27
_OGG_BEGINNING_OF_STREAM = 0x02
_OGG_VIDEO_CODECS = (b"\x80theora", b"OVP80", b"BBCD\x00")


def _ogg(head: bytes) -> SniffedKind | None:
    """Ogg is audio (Vorbis, Opus, FLAC, Speex) unless a first page starts a video stream."""
    if not head.startswith(b"OggS") or head[4:5] not in (b"", b"\x00"):
        return None
    pos = 0
    while pos + _OGG_PAGE_HEADER <= len(head) and head[pos : pos + 4] == b"OggS":
        if not head[pos + 5] & _OGG_BEGINNING_OF_STREAM:
            break
        segments = head[pos + _OGG_PAGE_HEADER : pos + _OGG_PAGE_HEADER + head[pos + 26]]
        body = pos + _OGG_PAGE_HEADER + len(segments)
        if head[body:].startswith(_OGG_VIDEO_CODECS):
            return OGG_VIDEO
        pos = body + sum(segments)
    return OGG_AUDIO


# --- RIFF (WAV, AVI), FLAC, ID3 --------------------------------------------------------------


def _riff(head: bytes) -> SniffedKind | None:
    if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return WAV
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI
    return None


def _flac(head: bytes) -> SniffedKind | None:
    """``fLaC`` then the mandatory STREAMINFO block (type 0, 34 bytes long)."""
    if not head.startswith(b"fLaC"):
        return None
    block = head[4:8]
    seen = bytes([block[0] & 0x7F]) + block[1:] if block else b""
    return FLAC if b"\x00\x00\x00\x22".startswith(seen) else None


def _id3(head: bytes) -> SniffedKind | None:
    """An ID3v2 tag: MP3 as a rule, unless a FLAC or ADTS stream follows it in the head."""
    tag = head[:10]
    if not tag.startswith(b"ID3") or tag[3:4] not in (b"", b"\x02", b"\x03", b"\x04"):
        return None
    if tag[4:5] == b"\xff" or any(byte >= 0x80 for byte in tag[6:10]):
        return None
    if len(tag) == 10:
        size = (tag[6] << 21 | tag[7] << 14 | tag[8] << 7 | tag[9]) + (20 if tag[5] & 0x10 else 10)
        after = head[size:]
        if after:
            return _flac(after) or _adts(after) or MPEG_AUDIO
    return MPEG_AUDIO


# --- Bare audio frames (ADTS AAC, MPEG audio layer II/III) -------------------------------------
# A frame header is only a few bits of evidence, so when the next frame starts inside the
# head it must carry the same sync, version, layer and sample rate.

_AAC_SAMPLE_RATES = 13
_MPEG_KBPS = {
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 1): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 1): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _adts_frame_length(header: bytes) -> int | None:
    """The length of the ADTS frame whose 7-byte header this is, or None if it is not one."""
    if len(header) < 7 or header[0] != 0xFF or header[1] & 0xF6 != 0xF0:
        return None
    if (header[2] >> 2) & 0x0F >= _AAC_SAMPLE_RATES:
        return None
    length = (header[3] & 0x03) << 11 | header[4] << 3 | header[5] >> 5
    return length if length >= (7 if header[1] & 0x01 else 9) else None


def _adts(head: bytes) -> SniffedKind | None:
    length = _adts_frame_length(head)
    if length is None:
        return None
    following = head[length : length + 7]
    if len(following) < 7:
        return AAC
    same_stream = following[1] & 0xFE == head[1] & 0xFE and following[2] & 0xFC == head[2] & 0xFC
    return AAC if same_stream and _adts_frame_length(following) is not None else None


def _mpeg_frame_length(header: bytes) -> int | None:
    """The length of the layer II/III frame whose 4-byte header this is, or None."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 0x03, (header[1] >> 1) & 0x03
    bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 0x03
    if version == 1 or layer not in (1, 2) or bitrate_index in (0, 15) or rate_index == 3:
        return None
    if header[3] & 0x03 == 2:  # reserved emphasis
        return None
    mpeg1 = version == 3
    bits_per_second = _MPEG_KBPS[mpeg1, layer][bitrate_index] * 1000
    # Samples per frame / 8: 1152 for layer II and MPEG-1 layer III, 576 for MPEG-2/2.5 III.
    factor = 72 if layer == 1 and not mpeg1 else 144
    sample_rate = _MPEG_SAMPLE_RATES[version][rate_index]
    return factor * bits_per_second // sample_rate + (header[2] >> 1 & 0x01)


def _mpeg_audio(head: bytes) -> SniffedKind | None:
    length = _mpeg_frame_length(head)
    if length is None:
        return None
    following = head[length : length + 4]
    if len(following) < 4:
        return MPEG_AUDIO
    same_stream = following[1] & 0xFE == head[1] & 0xFE and following[2] & 0x0C == head[2] & 0x0C
    return MPEG_AUDIO if same_stream and _mpeg_frame_length(following) is not None else None
