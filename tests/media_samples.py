"""Media files and multipart bodies for upload and sniffing tests.

The container headers are built here byte by byte (real, byte-exact
signatures); a file is such a header padded to any length.
"""

from __future__ import annotations

import functools
import io
import random
import secrets
import struct
import wave
from collections.abc import Callable, Iterable, Iterator

from klantroef_adapters.testing.media_files import audio_file, video_file
from klantroef_core.domain.media import MediaType
from klantroef_core.domain.media_kinds import SNIFF_LENGTH, SniffedKind

# --- factories: minimal but valid headers -------------------------------------------------


def ftyp(major: str, *compatible: str) -> bytes:
    """An ISO BMFF file start: the ftyp box, then an empty free box and an mdat header."""
    brands = b"".join(brand.encode().ljust(4) for brand in compatible)
    box = struct.pack(">I", 16 + len(brands)) + b"ftyp" + major.encode().ljust(4) + bytes(4)
    return box + brands + struct.pack(">I", 8) + b"free" + struct.pack(">I", 1000) + b"mdat"


def ebml_element(element_id: int, payload: bytes) -> bytes:
    """An EBML element with a one-byte size (payloads under 127 bytes)."""
    identifier = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    return identifier + bytes([0x80 | len(payload)]) + payload


def ebml_header(doctype: bytes, *, before_doctype: bytes = b"") -> bytes:
    """An EBML header as mkvmerge and ffmpeg write it, followed by a Segment start."""
    body = (
        ebml_element(0x4286, b"\x01")  # EBMLVersion
        + ebml_element(0x42F7, b"\x01")  # EBMLReadVersion
        + ebml_element(0x42F2, b"\x04")  # EBMLMaxIDLength
        + ebml_element(0x42F3, b"\x08")  # EBMLMaxSizeLength
        + before_doctype
        + ebml_element(0x4282, doctype)  # DocType
        + ebml_element(0x4287, b"\x04")  # DocTypeVersion
        + ebml_element(0x4285, b"\x02")  # DocTypeReadVersion
    )
    return ebml_element(0x1A45DFA3, body) + b"\x18\x53\x80\x67\x01" + bytes(7)


def ogg_crc(data: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, not reflected)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = (crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def ogg_page(packet: bytes, *, serial: int = 1, first: bool = True) -> bytes:
    """One Ogg page holding one whole packet, with a correct checksum."""
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = (
        b"OggS\x00"
        + bytes([0x02 if first else 0x00])
        + bytes(8)
        + struct.pack("<II", serial, 0)
        + bytes(4)
        + bytes([len(lacing), *lacing])
    )
    crc = ogg_crc(header + packet)
    return header[:22] + struct.pack("<I", crc) + header[26:] + packet


VORBIS_ID = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 2, 44100, 0, 128000, 0, 0xB8, 1)
OPUS_HEAD = b"OpusHead\x01\x02" + struct.pack("<HIhB", 312, 48000, 0, 0)
THEORA_ID = b"\x80theora\x03\x02\x01" + bytes(33)
OGG_FLAC_ID = b"\x7fFLAC\x01\x00\x00\x01fLaC\x00\x00\x00\x22" + bytes(34)
SKELETON_HEAD = b"fishead\x00\x03\x00\x00\x00" + bytes(52)


def streaminfo(*, last: bool = True) -> bytes:
    """A FLAC STREAMINFO metadata block: its 4-byte header and 34 bytes of body."""
    return bytes([0x80 if last else 0x00, 0, 0, 34]) + bytes(34)


def mpeg_frames(
    count: int = 2,
    *,
    version: int = 3,
    layer: int = 1,
    bitrate: tuple[int, int] = (9, 128),
    rate: tuple[int, int] = (0, 44100),
) -> bytes:
    """``count`` silent MPEG audio frames (defaults: MPEG-1 layer III, 128 kbit/s, 44.1 kHz).

    ``bitrate`` and ``rate`` are (index in the header, value it stands for).
    """
    (bitrate_index, kbps), (rate_index, sample_rate) = bitrate, rate
    header = bytes(
        [0xFF, 0xE0 | version << 3 | layer << 1 | 1, bitrate_index << 4 | rate_index << 2, 0xC4]
    )
    factor = 72 if layer == 1 and version != 3 else 144
    return (header + bytes(factor * kbps * 1000 // sample_rate - 4)) * count


def adts_frames(count: int = 2, *, rate_index: int = 4, payload: int = 20) -> bytes:
    """``count`` ADTS frames of AAC-LC stereo without CRC (rate index 4 is 44.1 kHz)."""
    length = 7 + payload
    header = bytes(
        [
            0xFF,
            0xF1,
            1 << 6 | rate_index << 2,
            2 << 6 | (length >> 11) & 0x03,
            (length >> 3) & 0xFF,
            (length & 0x07) << 5 | 0x1F,
            0xFC,
        ]
    )
    return (header + bytes(payload)) * count


def id3_tag(size: int = 30) -> bytes:
    """An ID3v2.4 tag with ``size`` bytes of padding, the size written syncsafe."""
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + bytes(size)


def riff(form: bytes, first_chunk: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(first_chunk)) + form + first_chunk


def real_wav(*, channels: int = 1, frames: int = 100) -> bytes:
    """A real WAV file written by the standard library's ``wave`` module."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(bytes(2 * channels * frames))
    return buffer.getvalue()


def kind(content_type: str, media_type: MediaType) -> SniffedKind:
    return SniffedKind(content_type, media_type)


VIDEO_MP4 = kind("video/mp4", MediaType.VIDEO)
AUDIO_MP4 = kind("audio/mp4", MediaType.AUDIO)
MOV = kind("video/quicktime", MediaType.VIDEO)
WEBM = kind("video/webm", MediaType.VIDEO)
MKV = kind("video/x-matroska", MediaType.VIDEO)
OGG_AUDIO = kind("audio/ogg", MediaType.AUDIO)
OGG_VIDEO = kind("video/ogg", MediaType.VIDEO)
MP3 = kind("audio/mpeg", MediaType.AUDIO)
WAV = kind("audio/wav", MediaType.AUDIO)
FLAC = kind("audio/flac", MediaType.AUDIO)
AAC = kind("audio/aac", MediaType.AUDIO)
AVI = kind("video/x-msvideo", MediaType.VIDEO)

MEDIA_SAMPLES: dict[str, tuple[bytes, SniffedKind]] = {
    "mp4 isom": (ftyp("isom", "isom", "iso2", "avc1", "mp41"), VIDEO_MP4),
    "mp4 mp42": (ftyp("mp42", "mp42", "isom"), VIDEO_MP4),
    "mp4 dash": (ftyp("dash", "iso6", "mp41"), VIDEO_MP4),
    "mp4 MSNV": (ftyp("MSNV", "MSNV", "mp42", "isom"), VIDEO_MP4),
    "m4v": (ftyp("M4V ", "M4V ", "M4A ", "mp42", "isom"), VIDEO_MP4),
    "3gp": (ftyp("3gp4", "isom", "3gp4"), VIDEO_MP4),
    "unknown major, generic compatible": (ftyp("abcd", "isom"), VIDEO_MP4),
    "m4a": (ftyp("M4A ", "M4A ", "mp42", "isom"), AUDIO_MP4),
    "m4b": (ftyp("M4B ", "M4B ", "mp42", "isom"), AUDIO_MP4),
    "m4p": (ftyp("M4P ", "M4P ", "mp42", "isom"), AUDIO_MP4),
    "isom with only an audio brand": (ftyp("isom", "isom", "M4A ", "mp42"), AUDIO_MP4),
    "isom with audio and video brands": (ftyp("isom", "M4A ", "avc1"), VIDEO_MP4),
    "mov": (ftyp("qt  ", "qt  "), MOV),
    "mov legacy moov first": (
        struct.pack(">I", 108) + b"moov" + struct.pack(">I", 100) + b"mvhd",
        MOV,
    ),
    "mov legacy wide then mdat": (
        struct.pack(">I", 8) + b"wide" + struct.pack(">I", 50) + b"mdat",
        MOV,
    ),
    "webm": (ebml_header(b"webm"), WEBM),
    "matroska": (ebml_header(b"matroska"), MKV),
    "matroska with a decoy webm doctype inside a void element": (
        ebml_header(b"matroska", before_doctype=ebml_element(0xEC, ebml_element(0x4282, b"webm"))),
        MKV,
    ),
    "ogg vorbis": (ogg_page(VORBIS_ID), OGG_AUDIO),
    "ogg opus": (ogg_page(OPUS_HEAD), OGG_AUDIO),
    "ogg flac": (ogg_page(OGG_FLAC_ID), OGG_AUDIO),
    "ogg unknown codec": (ogg_page(b"\x01mystery" + bytes(20)), OGG_AUDIO),
    "ogg theora": (ogg_page(THEORA_ID) + ogg_page(VORBIS_ID, serial=2), OGG_VIDEO),
    "ogg vorbis page before theora": (
        ogg_page(VORBIS_ID) + ogg_page(THEORA_ID, serial=2),
        OGG_VIDEO,
    ),
    "ogg skeleton then theora": (
        ogg_page(SKELETON_HEAD) + ogg_page(THEORA_ID, serial=2),
        OGG_VIDEO,
    ),
    "ogg skeleton then vorbis": (
        ogg_page(SKELETON_HEAD) + ogg_page(VORBIS_ID, serial=2),
        OGG_AUDIO,
    ),
    "mp3 mpeg-1 layer III": (mpeg_frames(), MP3),
    "mp3 mpeg-1 layer II": (mpeg_frames(layer=2, bitrate=(8, 128)), MP3),
    "mp3 mpeg-2 layer III": (mpeg_frames(version=2, bitrate=(8, 64), rate=(0, 22050)), MP3),
    "mp3 mpeg-2.5 layer III, small frames checked in pairs": (
        mpeg_frames(4, version=0, bitrate=(1, 8), rate=(2, 8000)),
        MP3,
    ),
    "mp3 with id3v2": (id3_tag() + mpeg_frames(), MP3),
    "mp3 with a big id3v2 tag (cover art)": (id3_tag(100_000)[:SNIFF_LENGTH], MP3),
    "wav": (real_wav(), WAV),
    "wav stereo": (real_wav(channels=2), WAV),
    "wav rf64": (b"RF64" + bytes(4) + b"WAVEds64", WAV),
    "flac": (b"fLaC" + streaminfo() + bytes(16), FLAC),
    "flac with more metadata blocks": (b"fLaC" + streaminfo(last=False) + bytes(16), FLAC),
    "flac behind an id3 tag": (id3_tag() + b"fLaC" + streaminfo(), FLAC),
    "aac adts": (adts_frames(), AAC),
    "aac adts 48 kHz": (adts_frames(rate_index=3), AAC),
    "aac adts behind an id3 tag": (id3_tag() + adts_frames(), AAC),
    "avi": (riff(b"AVI ", b"LIST" + struct.pack("<I", 4) + b"hdrl"), AVI),
}

NOT_MEDIA: dict[str, bytes] = {
    "empty": b"",
    "a text file renamed .mp4": b"This is not a video, only some text in a file called movie.mp4\n"
    * 8,
    "html": b"<!DOCTYPE html><html><head><title>x</title></head><body></body></html>",
    "elf executable": b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(44),
    "pe executable": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48),
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(20) + b"mimetypeapplication/epub+zip",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(40),
    "gif": b"GIF89a\x10\x00\x10\x00\x80\x00\x00" + bytes(20),
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "webp, a riff that is an image": riff(b"WEBP", b"VP8 " + struct.pack("<I", 10) + bytes(10)),
    "avif, an iso bmff image": ftyp("avif", "avif", "mif1", "miaf", "MA1B"),
    "heic, an iso bmff image": ftyp("heic", "mif1", "heic"),
    "heic listing a generic brand too": ftyp("heic", "mif1", "heic", "isom"),
    "an avif sequence, an animated image": ftyp("avis", "avis", "msf1", "iso8", "mif1", "miaf"),
    "an iso bmff video brand with an image brand": ftyp("mp42", "mp42", "mif1"),
    "iso bmff with unknown brands": ftyp("abcd", "efgh"),
    "webm-like ebml with another doctype": ebml_header(b"notmkv"),
    "ebml magic with a truncated header": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81",
    "ogg magic with a bad version": b"OggS\x01\x02" + bytes(40),
    "fLaC without streaminfo": b"fLaC\x04\x00\x00\x10" + bytes(16),
    "id3 with a byte that is not syncsafe": b"ID3\x04\x00\x00\x00\x00\x80\x00" + bytes(20),
    "id3 of an unknown version": b"ID3\x09\x00\x00\x00\x00\x00\x00" + bytes(20),
    "mpeg sync with a reserved version": b"\xff\xeb\x90\xc4" + bytes(60),
    "mpeg sync with layer I": b"\xff\xff\x90\xc4" + bytes(60),
    "mpeg sync with the bad bitrate": b"\xff\xfb\xf0\xc4" + bytes(60),
    "mpeg sync with free bitrate": b"\xff\xfb\x00\xc4" + bytes(60),
    "mpeg sync with a reserved sample rate": b"\xff\xfb\x9c\xc4" + bytes(60),
    "mpeg sync with reserved emphasis": b"\xff\xfb\x90\xc6" + bytes(60),
    "an mpeg frame followed by garbage": (
        mpeg_frames(1, version=0, bitrate=(1, 8), rate=(2, 8000)) + b"garbage!" * 8
    ),
    "adts with a reserved sample rate": adts_frames(rate_index=13),
    "adts with a frame shorter than its header": b"\xff\xf1\x50\x80\x00\x1f\xfc" + bytes(20),
    "an adts frame followed by garbage": adts_frames(1) + b"garbage!" * 8,
    "a riff that is neither wave nor avi": riff(b"CDXA", b"fmt " + bytes(20)),
    "random garbage": random.Random(20240506).randbytes(SNIFF_LENGTH),
    "zeros": bytes(SNIFF_LENGTH),
    "all ones": b"\xff" * SNIFF_LENGTH,
}


# One sample per container family the issue names, plus a few variants.
UPLOAD_SAMPLES = {
    name: MEDIA_SAMPLES[name]
    for name in (
        "mp4 isom",
        "m4a",
        "mov",
        "mov legacy moov first",
        "webm",
        "matroska",
        "ogg vorbis",
        "ogg theora",
        "mp3 mpeg-1 layer III",
        "mp3 with id3v2",
        "wav",
        "flac",
        "aac adts",
        "avi",
    )
}
REFUSED_SAMPLES = {
    name: NOT_MEDIA[name]
    for name in ("a text file renamed .mp4", "elf executable", "png", "pdf", "empty", "zip")
}
MP4_HEAD = ftyp("isom", "isom", "iso2", "avc1", "mp41")
M4A_HEAD = MEDIA_SAMPLES["m4a"][0]


@functools.cache
def tiny_mp4() -> bytes:
    """A real MP4 (PyAV): one 16x16 MPEG-4 frame, under 1 KB, that any demuxer reads."""
    return video_file(0.04, width=16, height=16, rate=25, audio=False)


@functools.cache
def tiny_m4a() -> bytes:
    """A real M4A (PyAV, the ``ipod`` muxer): a tenth of a second of mono AAC."""
    return audio_file(0.1, rate=22050, channels=1, container="ipod", codec="aac")


def padded(clip: bytes, size: int, seed: int) -> bytes:
    """``clip``, an ISO BMFF file, followed by a ``free`` box of seeded noise up to ``size``."""
    padding = size - len(clip) - 8
    if padding < 0:
        raise ValueError(f"this file takes at least {len(clip) + 8} bytes, not {size}")
    noise = random.Random(seed).randbytes(padding)
    return clip + struct.pack(">I", padding + 8) + b"free" + noise


@functools.cache
def tiny_mov() -> bytes:
    """A real QuickTime file (PyAV): one 16x16 MPEG-4 frame."""
    return video_file(0.04, width=16, height=16, rate=25, audio=False, container="mov")


SIZED_KINDS: dict[str, tuple[Callable[[], bytes], SniffedKind]] = {
    "mp4": (tiny_mp4, VIDEO_MP4),
    "m4a": (tiny_m4a, AUDIO_MP4),
    "mov": (tiny_mov, MOV),
}
"""The ISO BMFF families a real file of any size (from 2 KiB) is made of: see :func:`sized`."""


def sized(kind: str, size: int, *, seed: int = 1) -> tuple[bytes, SniffedKind]:
    """``size`` bytes of a real file of ``kind`` (a key of :data:`SIZED_KINDS`), padded with a
    ``free`` box of seeded noise; and what its bytes sniff as."""
    make, sniffed = SIZED_KINDS[kind]
    return padded(make(), size, seed), sniffed


def audio_m4a(size: int, *, seed: int = 1) -> bytes:
    """``size`` bytes of a real M4A file (:func:`tiny_m4a`, padded), different for each ``seed``."""
    return padded(tiny_m4a(), size, seed)


def mp4_start(size: int) -> bytes:
    """The first bytes of a real MP4 of exactly ``size`` bytes, whatever bytes follow them:
    :func:`tiny_mp4`, then the header of a ``free`` box (64-bit size) holding the rest."""
    clip = tiny_mp4()
    rest = size - len(clip)
    if rest < 16:
        raise ValueError(f"a real MP4 takes at least {len(clip) + 16} bytes, not {size}")
    return clip + struct.pack(">I", 1) + b"free" + struct.pack(">Q", rest)


def media_file(size: int, head: bytes | None = None, *, seed: int = 1) -> bytes:
    """``size`` bytes of a file uploads accept, different for each ``seed``.

    By default a real MP4 (:func:`tiny_mp4`) followed by a ``free`` box of seeded
    noise up to ``size``: a valid file FFmpeg reads, of any size from 1 KB. With
    ``head``, that header (truncated if longer) then noise: sniffed right, but no
    demuxer reads it.
    """
    if head is None:
        return padded(tiny_mp4(), size, seed)
    if size <= len(head):
        return head[:size]
    return head + random.Random(seed).randbytes(size - len(head))


def multipart_body(
    fields: Iterable[tuple[str, str]] = (),
    file: bytes | None = None,
    *,
    filename: str | None = "movie.mp4",
    after: Iterable[tuple[str, str]] = (),
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """A form body (``fields``, then the file part, then ``after``) and its Content-Type."""
    boundary = boundary or "klantroef-" + secrets.token_hex(12)
    parts = [b"".join(_field(boundary, name, value)) for name, value in fields]
    if file is not None:
        parts.append(b"".join(_file_part(boundary, file, filename)))
    parts += [b"".join(_field(boundary, name, value)) for name, value in after]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _field(boundary: str, name: str, value: str) -> Iterator[bytes]:
    yield f"--{boundary}\r\n".encode()
    yield f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
    yield value.encode()
    yield b"\r\n"


def _file_part(boundary: str, data: bytes, filename: str | None) -> Iterator[bytes]:
    yield f"--{boundary}\r\n".encode()
    disposition = 'form-data; name="file"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    yield f"Content-Disposition: {disposition}\r\n".encode()
    yield b"Content-Type: application/octet-stream\r\n\r\n"
    yield data
    yield b"\r\n"


# --- real files of every container family uploads accept (PyAV) --------------------------

_REAL_FILES: dict[str, tuple[Callable[[], bytes], SniffedKind, str]] = {
    "mp4": (lambda: video_file(0.2, width=64, height=48), VIDEO_MP4, "mp4"),
    "m4a": (
        lambda: audio_file(0.2, rate=22050, channels=1, container="ipod", codec="aac"),
        AUDIO_MP4,
        "mp4",
    ),
    "mov": (lambda: video_file(0.2, width=64, height=48, container="mov"), MOV, "mov"),
    "webm": (
        lambda: video_file(0.2, width=64, height=48, container="webm", codec="libvpx", audio=False),
        WEBM,
        "webm",
    ),
    "matroska": (
        lambda: video_file(0.2, width=64, height=48, container="matroska"),
        MKV,
        "matroska",
    ),
    "ogg opus": (
        lambda: audio_file(0.2, rate=48000, container="ogg", codec="libopus"),
        OGG_AUDIO,
        "ogg",
    ),
    "mp3 with id3v2": (lambda: audio_file(0.2), MP3, "mp3"),
    "wav": (
        lambda: audio_file(0.2, rate=8000, channels=1, container="wav", codec="pcm_s16le"),
        WAV,
        "wav",
    ),
    "flac": (
        lambda: audio_file(0.2, rate=8000, channels=1, container="flac", codec="flac"),
        FLAC,
        "flac",
    ),
    "aac adts": (lambda: audio_file(0.2, container="adts", codec="aac"), AAC, "aac"),
    "avi": (lambda: video_file(0.2, width=64, height=48, container="avi"), AVI, "avi"),
}
REAL_FILE_NAMES = tuple(_REAL_FILES)


@functools.cache
def real_file(name: str) -> tuple[bytes, SniffedKind, str]:
    """A real file of the family ``name``: its bytes, what sniffing says, and a word of
    FFmpeg's name for its container."""
    make, kind, container = _REAL_FILES[name]
    return make(), kind, container
