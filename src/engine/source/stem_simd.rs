//! The hot case of mixing stems: four 16-bit stereo stems (eight samples per frame) scaled by
//! their gains and summed per side, with SIMD on x86-64 (AVX2) and AArch64 (NEON). Every path
//! adds in the same order as the portable one — left = (s1 + s3) + (s2 + s4), products first —
//! so they give the same bits. Real-time safe.

/// Mixes `out.len() / 2` frames: frame `j` is the 8 samples at `p + j·stride` (stems 1-4, left
/// and right), times `g`, summed to `[left, right]`. Real-time safe.
///
/// # Safety
/// `p + j·stride .. + 8` must be readable for every frame `j`.
#[inline(always)]
pub unsafe fn mix4_i16(p: *const i16, stride: usize, g: &[f32; 8], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (just checked); the reads are the caller's promise.
        unsafe { mix4_i16_avx2(p, stride, g, out) };
        return;
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: NEON is part of AArch64; the reads are the caller's promise.
        unsafe { mix4_i16_neon(p, stride, g, out) };
        return;
    }
    #[allow(unreachable_code)]
    // SAFETY: forwarded.
    unsafe {
        mix4_i16_portable(p, stride, g, out)
    }
}

/// The portable version of [`mix4_i16`].
///
/// # Safety
/// As [`mix4_i16`].
#[inline(always)]
pub unsafe fn mix4_i16_portable(p: *const i16, stride: usize, g: &[f32; 8], out: &mut [f32]) {
    for (j, o) in out.chunks_exact_mut(2).enumerate() {
        // SAFETY: the caller's promise.
        let f: [i16; 8] = unsafe { std::ptr::read_unaligned(p.add(j * stride) as *const [i16; 8]) };
        let v: [f32; 8] = std::array::from_fn(|c| f[c] as f32 * g[c]);
        o[0] = (v[0] + v[4]) + (v[2] + v[6]);
        o[1] = (v[1] + v[5]) + (v[3] + v[7]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mix4_i16_avx2(p: *const i16, stride: usize, g: &[f32; 8], out: &mut [f32]) {
    use std::arch::x86_64::*;
    // SAFETY: reads of the caller's frames and of `g`; AVX2 is enabled for this function.
    unsafe {
        let gv = _mm256_loadu_ps(g.as_ptr());
        for (j, o) in out.chunks_exact_mut(2).enumerate() {
            let x = _mm_loadu_si128(p.add(j * stride) as *const __m128i);
            let m = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(x)), gv);
            // [l1+l3, r1+r3, l2+l4, r2+r4]
            let s = _mm_add_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            // [(l1+l3)+(l2+l4), (r1+r3)+(r2+r4), ..]
            let t = _mm_add_ps(s, _mm_movehl_ps(s, s));
            o[0] = _mm_cvtss_f32(t);
            o[1] = _mm_cvtss_f32(_mm_shuffle_ps(t, t, 1));
        }
    }
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn mix4_i16_neon(p: *const i16, stride: usize, g: &[f32; 8], out: &mut [f32]) {
    use std::arch::aarch64::*;
    // SAFETY: reads of the caller's frames and of `g`, writes of two floats per frame of
    // `out`; NEON is always present on AArch64.
    unsafe {
        let g_lo = vld1q_f32(g.as_ptr());
        let g_hi = vld1q_f32(g.as_ptr().add(4));
        for (j, o) in out.chunks_exact_mut(2).enumerate() {
            let x = vld1q_s16(p.add(j * stride));
            let lo = vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(x))), g_lo);
            let hi = vmulq_f32(vcvtq_f32_s32(vmovl_high_s16(x)), g_hi);
            // [l1+l3, r1+r3, l2+l4, r2+r4]
            let s = vaddq_f32(lo, hi);
            vst1_f32(o.as_mut_ptr(), vadd_f32(vget_low_f32(s), vget_high_f32(s)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_and_portable_give_the_same_bits() {
        let data: Vec<i16> = (0..10 * 500)
            .map(|i| ((i as i64 * 7919 % 65536) - 32768) as i16)
            .collect();
        let g = [0.3, -0.7, 1.9, 0.0, 1e-3, 2.0, -1.0, 0.5].map(|v: f32| v / 32768.0);
        let (mut a, mut b) = (vec![0.0f32; 2 * 499], vec![0.0f32; 2 * 499]);
        // SAFETY: 499 frames of stride 10 from offset 2 stay inside `data`.
        unsafe {
            mix4_i16(data.as_ptr().add(2), 10, &g, &mut a);
            mix4_i16_portable(data.as_ptr().add(2), 10, &g, &mut b);
        }
        assert_eq!(a, b);
        assert!(a.iter().any(|v| *v != 0.0));
    }
}
