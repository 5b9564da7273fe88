"""Rewrites an ffmpeg M4A (mdat before moov) the way Apple tags gapless AAC: the track's edit
list removed, an iTunSMPB freeform tag added to moov/udta/meta/ilst. Usage: in.m4a out.m4a"""
import struct
import sys

CONTAINERS = {b"moov", b"trak", b"udta", b"ilst", b"edts", b"mdia", b"minf", b"stbl"}


def boxes(b):
    at = 0
    while at + 8 <= len(b):
        size, kind = struct.unpack(">I4s", b[at:at + 8])
        yield kind, b[at + 8:at + size]
        at += size


def box(kind, payload):
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def rewrite(kind, payload):
    if kind == b"edts":
        return b""
    if kind == b"meta":
        return box(kind, payload[:4] + b"".join(rewrite(k, p) for k, p in boxes(payload[4:])))
    if kind == b"ilst":
        text = b" 00000000 00000400 00000378 0000000000015888 00000000 00000000"
        tag = box(b"----", box(b"mean", b"\0\0\0\0com.apple.iTunes")
                  + box(b"name", b"\0\0\0\0iTunSMPB")
                  + box(b"data", struct.pack(">II", 1, 0) + text))
        return box(kind, payload + tag)
    if kind in CONTAINERS:
        return box(kind, b"".join(rewrite(k, p) for k, p in boxes(payload)))
    return box(kind, payload)


src = open(sys.argv[1], "rb").read()
out = b"".join(rewrite(k, p) for k, p in boxes(src))
open(sys.argv[2], "wb").write(out)
