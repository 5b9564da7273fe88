// padlooper's C interface to Signalsmith Stretch (vendor/signalsmith, MIT): one stereo
// stretcher per handle, planar buffers. Only construction and destruction allocate; reset
// keeps its buffers; seek and process allocate nothing once a first seek has sized the
// scratch buffer (padlooper warms every stretcher before the audio thread uses it).
// SPDX-License-Identifier: GPL-2.0-or-later

#include "signalsmith-stretch.h"

using Stretch = signalsmith::stretch::SignalsmithStretch<float>;

extern "C" {

void *padlooper_ss_new(int channels, int block, int interval, int split, long seed) {
    auto *s = new Stretch(seed);
    s->configure(channels, block, interval, split != 0);
    return s;
}

void padlooper_ss_free(void *s) { delete static_cast<Stretch *>(s); }

void padlooper_ss_reset(void *s) { static_cast<Stretch *>(s)->reset(); }

int padlooper_ss_input_latency(const void *s) {
    return static_cast<const Stretch *>(s)->inputLatency();
}

int padlooper_ss_output_latency(const void *s) {
    return static_cast<const Stretch *>(s)->outputLatency();
}

void padlooper_ss_seek(void *s, const float *const *input, int frames, double rate) {
    static_cast<Stretch *>(s)->seek(input, frames, rate);
}

void padlooper_ss_process(void *s, const float *const *input, int in_frames,
                          float *const *output, int out_frames) {
    static_cast<Stretch *>(s)->process(input, in_frames, output, out_frames);
}

}
