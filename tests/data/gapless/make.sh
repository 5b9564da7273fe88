#!/bin/sh
# Makes the gapless fixtures of tests/formats.rs (run once by hand; needs Debian's ffmpeg and
# python3; the tests only read the committed files): a 2-s loop of a 441 Hz tone at 44.1 kHz
# (882 whole cycles), encoded with each lossy codec padlooper decodes.
set -eu
cd "$(dirname "$0")"
ffmpeg -v error -y -f lavfi -i "sine=frequency=441:sample_rate=44100:duration=2" -ac 2 -c:a pcm_s16le /tmp/loop441.wav
ffmpeg -v error -y -i /tmp/loop441.wav -c:a aac -b:a 128k loop441-aac-elst.m4a
ffmpeg -v error -y -i /tmp/loop441.wav -c:a mp2 -b:a 192k loop441.mp2
ffmpeg -v error -y -i /tmp/loop441.wav -c:a libmp3lame -b:a 192k loop441.mp3
ffmpeg -v error -y -i /tmp/loop441.wav -c:a libvorbis -q:a 5 loop441.ogg
# The same AAC as Apple tags it: no edit list, an iTunSMPB tag (delay 0x400, padding 0x378,
# length 0x15888 = 88200 frames).
python3 itunsmpb.py loop441-aac-elst.m4a loop441-aac-itunsmpb.m4a
