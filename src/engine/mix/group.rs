//! Phase 2 of a segment: the EQs of the pads being shaped. Steady shelf EQs run four pads at
//! a time (gliding ones one by one); isolators always run four at a time (their knobs only move
//! gains); a pad switching mode runs both and cross-fades. Real-time safe.

use super::pad_dsp::PadDsp;
use crate::dsp::eq::Lanes;
use crate::dsp::isolator::IsolatorDesign;

/// The mixer's buffers the EQ phase works on (borrowed for one segment).
pub(super) struct EqWork<'a> {
    pub(super) pad_dsp: &'a mut [PadDsp],
    /// The pads' scratch buffers, `stride` samples apart.
    pub(super) scratch: &'a mut [f32],
    pub(super) eq_lanes: &'a mut [Lanes],
    pub(super) iso_design: &'a IsolatorDesign,
    pub(super) xfade_buf: &'a mut [f32],
    pub(super) stride: usize,
}

impl EqWork<'_> {
    /// Runs the EQ of each pad being shaped (pad, scratch buffer index) over `n` frames.
    pub(super) fn run(&mut self, shaped: &[(u16, u16)], n: usize) {
        let stride = self.stride;
        let mut group = [(0u16, 0usize); 4];
        let mut in_group = 0;
        let mut iso_group = [(0u16, 0usize); 4];
        let mut in_iso = 0;
        for &(pad, j) in shaped {
            let range = j as usize * stride..j as usize * stride + 2 * n;
            let dsp = &mut self.pad_dsp[pad as usize];
            if dsp.iso_mix.is_moving() {
                self.mode_fade(pad as usize, range);
                continue;
            }
            if dsp.iso_mix.value == 1.0 {
                if dsp.iso.is_bypassed() {
                    continue;
                }
                iso_group[in_iso] = (pad, j as usize);
                in_iso += 1;
                if in_iso == 4 {
                    self.iso_group(&iso_group, stride, n);
                    in_iso = 0;
                }
                continue;
            }
            let eq = &mut dsp.eq;
            if eq.is_flat() {
                eq.process(&mut []);
                continue;
            }
            if !eq.is_steady() {
                eq.process(&mut self.scratch[range]);
                continue;
            }
            group[in_group] = (pad, j as usize);
            in_group += 1;
            if in_group == 4 {
                self.eq_group(&group, stride, n);
                in_group = 0;
            }
        }
        self.eq_group(&group[..in_group], stride, n);
        self.iso_group(&iso_group[..in_iso], stride, n);
    }

    /// Runs the isolators of up to four pads side by side on their scratch buffers.
    fn iso_group(&mut self, group: &[(u16, usize)], stride: usize, n: usize) {
        self.in_group(group, stride, n, Filters::Iso);
    }

    /// A pad switching EQ mode: both EQs process its block and it cross-fades between them.
    fn mode_fade(&mut self, pad: usize, range: std::ops::Range<usize>) {
        let n = range.len();
        let tmp = &mut self.xfade_buf[..n];
        tmp.copy_from_slice(&self.scratch[range.clone()]);
        let dsp = &mut self.pad_dsp[pad];
        dsp.iso.process(self.iso_design, tmp, self.eq_lanes);
        let shelf = &mut self.scratch[range];
        dsp.eq.process(shelf);
        dsp.iso_mix.each(n / 2, |k, t| {
            shelf[2 * k] += t * (tmp[2 * k] - shelf[2 * k]);
            shelf[2 * k + 1] += t * (tmp[2 * k + 1] - shelf[2 * k + 1]);
        });
    }

    /// Runs the EQs of up to four pads side by side on their scratch buffers.
    fn eq_group(&mut self, group: &[(u16, usize)], stride: usize, n: usize) {
        self.in_group(group, stride, n, Filters::Shelf);
    }

    /// Runs one kind of filter of up to four pads side by side on their scratch buffers.
    fn in_group(&mut self, group: &[(u16, usize)], stride: usize, n: usize, f: Filters) {
        match group.len() {
            0 => {}
            1 => self.in_group_n::<1>(group, stride, n, f),
            2 => self.in_group_n::<2>(group, stride, n, f),
            3 => self.in_group_n::<3>(group, stride, n, f),
            _ => self.in_group_n::<4>(group, stride, n, f),
        }
    }

    fn in_group_n<const P: usize>(
        &mut self,
        group: &[(u16, usize)],
        stride: usize,
        n: usize,
        f: Filters,
    ) {
        let ranges: [std::ops::Range<usize>; P] =
            std::array::from_fn(|i| group[i].1 * stride..group[i].1 * stride + 2 * n);
        let pads: [usize; P] = std::array::from_fn(|i| group[i].0 as usize);
        // Pads in a group are distinct and their scratch buffers disjoint, so these succeed.
        let (Ok(mut bufs), Ok(dsps)) = (
            self.scratch.get_disjoint_mut(ranges),
            self.pad_dsp.get_disjoint_mut(pads),
        ) else {
            return;
        };
        match f {
            Filters::Iso => {
                let mut isos = dsps.map(|d| &mut d.iso);
                crate::dsp::isolator::process_group(
                    &mut isos,
                    self.iso_design,
                    &mut bufs,
                    self.eq_lanes,
                );
            }
            Filters::Shelf => {
                let mut eqs = dsps.map(|d| &mut d.eq);
                crate::dsp::eq::process_group(&mut eqs, &mut bufs, self.eq_lanes);
            }
        }
    }
}

/// Which of a pad's EQs a group runs.
#[derive(Clone, Copy)]
enum Filters {
    /// The isolator.
    Iso,
    /// The shelving EQ.
    Shelf,
}
