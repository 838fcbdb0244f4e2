//! A seeded, MNIST-shaped synthetic dataset for tests and for machines without the real data.
//!
//! It has to be *learnable but not trivial*: training tests need a loss that really falls and
//! a test accuracy well above chance, and Hessian tests need a network that is neither at
//! initialisation nor at a zero-loss interpolating solution after a few steps. Pure noise
//! labels (unlearnable) and one fixed image per class (solved in one step) both fail that.
//!
//! It also has to be *identical on every machine* for a given seed, so that test expectations
//! and bug reports are portable: only ChaCha8 (whose output is specified), integer sampling of
//! fixed-width types, and IEEE `+ - * /` on `f32` are used; no transcendental functions
//! (whose last bit may differ between libm implementations) and no hash-map iteration.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Dataset, TrainTest};

/// Side of the square images, as in MNIST.
pub const SIDE: usize = 28;
/// Pixels per image (784).
pub const DIM: usize = SIDE * SIDE;
/// Number of classes, as in MNIST.
pub const CLASSES: usize = 10;

/// Strokes that make up a class's shape.
const BASE_STROKES: usize = 2;
/// Distractor strokes shared by all classes.
const SHARED_POOL: usize = 12;
/// Shared strokes added to each prototype.
const DISTRACTORS: usize = 2;
/// Prototypes (sub-styles) per class.
const PROTOS_PER_CLASS: usize = 4;
/// Largest move of a control point between prototypes of one class, in pixels.
const JITTER: f32 = 3.0;
/// Control points per stroke (a polyline of `POINTS - 1` segments).
const POINTS: usize = 3;
/// Largest shift of a sample relative to its prototype, in pixels, both axes.
const MAX_SHIFT: i32 = 2;
/// Probability that a lit pixel of the prototype is dropped (set to 0).
const DROP: f32 = 0.1;
/// Amplitude of the uniform noise added to lit pixels: ±NOISE/2.
const NOISE: f32 = 0.3;
/// Probability that a background pixel gets a speck of "ink".
const SPECK: f32 = 0.01;
/// Probability that a sample also shows a fainter shape of another class.
const AMBIGUOUS: f32 = 0.08;

type Stroke = [(f32, f32); POINTS];

/// Squared distance from point `p` to segment `a`–`b` (arithmetic only, see module docs).
fn dist2_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    qx * qx + qy * qy
}

/// A random pen stroke: a polyline that starts inside the central 18×18 square and moves by
/// up to ±8 pixels per segment, clamped to stay off the image border (as MNIST digits do).
fn random_stroke(rng: &mut ChaCha8Rng) -> Stroke {
    let coord = |rng: &mut ChaCha8Rng| 5.0 + 18.0 * rng.gen::<f32>();
    let mut pts = [(0.0f32, 0.0f32); POINTS];
    pts[0] = (coord(rng), coord(rng));
    for i in 1..POINTS {
        let step = |rng: &mut ChaCha8Rng| 16.0 * rng.gen::<f32>() - 8.0;
        let (sr, sc) = (step(rng), step(rng));
        pts[i] = (
            (pts[i - 1].0 + sr).clamp(4.0, 23.0),
            (pts[i - 1].1 + sc).clamp(4.0, 23.0),
        );
    }
    pts
}

/// Renders strokes with a soft round brush: full ink within 1 px of the path, fading
/// linearly in squared distance to none at 2 px; overlapping strokes take the maximum.
fn render(strokes: &[&Stroke]) -> Vec<f32> {
    let mut img = vec![0.0f32; DIM];
    for (i, px) in img.iter_mut().enumerate() {
        let p = ((i / SIDE) as f32, (i % SIDE) as f32);
        for stroke in strokes {
            for seg in stroke.windows(2) {
                let v = ((4.0 - dist2_to_segment(p, seg[0], seg[1])) / 3.0).clamp(0.0, 1.0);
                *px = px.max(v);
            }
        }
    }
    img
}

/// The class prototypes: `CLASSES × PROTOS_PER_CLASS` images, class-major.
///
/// Each class has `BASE_STROKES` strokes of its own (its "shape"); each of its prototypes
/// draws them with every control point moved by up to ±`JITTER` pixels (handwriting
/// variation) and adds one stroke from a small pool shared by all classes. The shared
/// strokes are distractors: they carry no class information, so a network must learn to
/// ignore them, and classes whose shapes happen to overlap stay genuinely confusable.
fn prototypes(rng: &mut ChaCha8Rng) -> Vec<Vec<f32>> {
    let bases: Vec<[Stroke; BASE_STROKES]> = (0..CLASSES)
        .map(|_| std::array::from_fn(|_| random_stroke(rng)))
        .collect();
    let shared: Vec<Stroke> = (0..SHARED_POOL).map(|_| random_stroke(rng)).collect();
    let mut protos = Vec::with_capacity(CLASSES * PROTOS_PER_CLASS);
    for base in &bases {
        for _ in 0..PROTOS_PER_CLASS {
            let mut strokes: Vec<Stroke> = base.to_vec();
            for stroke in &mut strokes {
                for p in stroke.iter_mut() {
                    p.0 += JITTER * (2.0 * rng.gen::<f32>() - 1.0);
                    p.1 += JITTER * (2.0 * rng.gen::<f32>() - 1.0);
                }
            }
            for _ in 0..DISTRACTORS {
                strokes.push(shared[rng.gen_range(0..SHARED_POOL as u32) as usize]);
            }
            let refs: Vec<&Stroke> = strokes.iter().collect();
            protos.push(render(&refs));
        }
    }
    protos
}

/// Draws `len` samples from the prototypes with the sample stream `rng`.
fn samples(protos: &[Vec<f32>], len: usize, rng: &mut ChaCha8Rng) -> Dataset {
    let mut images = Vec::with_capacity(len * DIM);
    let mut labels = Vec::with_capacity(len);
    let mut ink = vec![0.0f32; DIM];
    for _ in 0..len {
        let label = rng.gen_range(0..CLASSES as u32);
        let gain = 0.7 + 0.3 * rng.gen::<f32>();
        ink.fill(0.0);
        stamp(&mut ink, pick(protos, label, rng), gain, rng);
        if rng.gen::<f32>() < AMBIGUOUS {
            // A fainter shape of another class over this one: an ambiguous sample.
            let other = (label + rng.gen_range(1..CLASSES as u32)) % CLASSES as u32;
            let strength = gain * (0.5 + 0.5 * rng.gen::<f32>());
            stamp(&mut ink, pick(protos, other, rng), strength, rng);
        }
        for &k in &ink {
            let u = rng.gen::<f32>();
            let v = if k > 0.0 {
                if u < DROP {
                    0.0
                } else {
                    k + NOISE * (rng.gen::<f32>() - 0.5)
                }
            } else if u < SPECK {
                0.6 * rng.gen::<f32>()
            } else {
                0.0
            };
            images.push(v.clamp(0.0, 1.0));
        }
        labels.push(label as u8);
    }
    Dataset {
        images,
        labels,
        len,
        dim: DIM,
        classes: CLASSES,
    }
}

/// A random prototype of class `label`.
fn pick<'a>(protos: &'a [Vec<f32>], label: u32, rng: &mut ChaCha8Rng) -> &'a [f32] {
    let k = rng.gen_range(0..PROTOS_PER_CLASS as u32);
    &protos[(label * PROTOS_PER_CLASS as u32 + k) as usize]
}

/// Adds `proto × gain` to `ink` (pixel-wise maximum), shifted by a random offset of up to
/// ±`MAX_SHIFT` pixels on each axis; what is shifted out of the frame is lost.
fn stamp(ink: &mut [f32], proto: &[f32], gain: f32, rng: &mut ChaCha8Rng) {
    let dr = rng.gen_range(-MAX_SHIFT..=MAX_SHIFT);
    let dc = rng.gen_range(-MAX_SHIFT..=MAX_SHIFT);
    let side = SIDE as i32;
    for r in 0..side {
        for c in 0..side {
            let (sr, sc) = (r - dr, c - dc);
            if (0..side).contains(&sr) && (0..side).contains(&sc) {
                let px = &mut ink[(r * side + c) as usize];
                *px = px.max(gain * proto[(sr * side + sc) as usize]);
            }
        }
    }
}

/// A synthetic MNIST look-alike: 28×28 = 784 pixels in `[0, 1]`, 10 classes.
///
/// Generator, all from `ChaCha8Rng::seed_from_u64(seed)`:
///
/// 1. Stream 0 draws the shapes. A stroke is a 3-point polyline (start in the central
///    18×18 square, steps of up to ±8 px) drawn with a soft brush (full ink within 1 px of
///    the path, none beyond 2 px). Each class gets 2 strokes of its own; a pool of 12
///    distractor strokes is shared by all classes. Each class has 4 prototypes: its own
///    strokes with every control point moved by up to ±3 px, plus 2 distractors.
/// 2. Each sample (stream 1 for train, stream 2 for test, so the two sets are independent
///    draws from one distribution and `train_len` does not change the test set) has a
///    uniformly random label (balanced in expectation) and shows one of its class's
///    prototypes with ink gain in [0.7, 1), shifted by up to ±2 px on each axis. With
///    probability 0.08 a fainter (×0.5–1) prototype of another class is overlaid: these
///    ambiguous samples keep the best accuracy below 100 %, as on real data. Then each inked
///    pixel is dropped with probability 0.1 or gets uniform noise of ±0.15, each blank pixel
///    gets a speck with probability 0.01, and values are clipped to `[0, 1]`.
///
/// The statistics resemble MNIST's: mean pixel ≈ 0.14 (MNIST 0.13), ≈ 22 % of pixels
/// non-zero (MNIST 19 %). Measured with a 784-100-100-10 ReLU MLP (Xavier init, SGD,
/// batch 128, 8,000 training samples): at η = 0.01 the training loss falls from 2.34 to
/// 2.03 / 1.05 / 0.53 after 100 / 300 / 500 steps in one run (test accuracy 51 / 82 / 89 %); at η = 0.1
/// the test accuracy levels off near 96–97 % while training accuracy approaches 99 %.
/// A nearest-class-mean classifier gets ≈ 80 %.
///
/// Same seed, same data, on every platform; different seeds give different shapes.
pub fn synthetic(train_len: usize, test_len: usize, seed: u64) -> TrainTest {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(0);
    let protos = prototypes(&mut rng);
    rng.set_stream(1);
    rng.set_word_pos(0);
    let train = samples(&protos, train_len, &mut rng);
    rng.set_stream(2);
    rng.set_word_pos(0);
    let test = samples(&protos, test_len, &mut rng);
    TrainTest { train, test }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_ranges_and_classes() {
        let tt = synthetic(2000, 500, 7);
        for (d, n) in [(&tt.train, 2000), (&tt.test, 500)] {
            assert_eq!((d.len, d.dim, d.classes), (n, 784, 10));
            assert_eq!(d.images.len(), n * 784);
            assert_eq!(d.labels.len(), n);
            assert!(d.images.iter().all(|x| (0.0..=1.0).contains(x)));
            let counts = d.class_counts();
            assert!(
                counts.iter().all(|&c| c > 0),
                "every class present: {counts:?}"
            );
            // Balanced-ish: no class below a third of its share.
            assert!(counts.iter().all(|&c| c * 30 > n), "{counts:?}");
        }
        let lit = tt.train.images.iter().filter(|&&x| x > 0.1).count() as f64
            / tt.train.images.len() as f64;
        assert!((0.1..=0.3).contains(&lit), "fraction of lit pixels {lit}");
        let (mean, _) = tt.train.pixel_mean_std();
        assert!((0.05..=0.25).contains(&mean), "mean pixel {mean}");
    }

    #[test]
    fn deterministic_per_seed_and_different_across_seeds() {
        let a = synthetic(50, 20, 1);
        assert_eq!(a, synthetic(50, 20, 1));
        let b = synthetic(50, 20, 2);
        assert_ne!(a.train.images, b.train.images);
        assert_ne!(a.test.images, b.test.images);
        // The test set does not depend on the size of the training set.
        assert_eq!(synthetic(10, 20, 1).test, a.test);
        // Train and test are different draws.
        assert_ne!(a.train.images[..20 * 784], a.test.images[..]);
    }

    #[test]
    fn stable_across_platforms() {
        // A fingerprint of the generator's exact output. If this changes, the generator (or
        // rand/rand_chacha's specified output) changed: every stored expectation built on
        // synthetic data changes with it, so update them together, deliberately.
        let tt = synthetic(3, 2, 42);
        let hash = |v: &[f32]| {
            v.iter().fold(0u64, |h, x| {
                h.wrapping_mul(1_000_003) ^ u64::from(x.to_bits())
            })
        };
        let fp = (
            hash(&tt.train.images),
            tt.train.labels,
            hash(&tt.test.images),
            tt.test.labels,
        );
        assert_eq!(
            fp,
            (
                14_315_234_077_582_691_922,
                vec![5, 5, 7],
                15_916_351_523_344_000_992,
                vec![3, 9]
            )
        );
    }

    #[test]
    fn empty_sets_are_fine() {
        let tt = synthetic(0, 0, 3);
        assert_eq!((tt.train.len, tt.test.len), (0, 0));
    }

    /// Class-mean (nearest centroid) accuracy on the test set: a cheap learnability probe.
    /// Well above chance means the classes carry signal; clearly below 100 % means a linear
    /// template match does not solve it, so an MLP has something to learn.
    #[test]
    fn learnable_but_not_trivial() {
        let tt = synthetic(4000, 1000, 11);
        let mut means = vec![0.0f64; CLASSES * DIM];
        let counts = tt.train.class_counts();
        for i in 0..tt.train.len {
            let l = usize::from(tt.train.labels[i]);
            for (m, &x) in means[l * DIM..(l + 1) * DIM]
                .iter_mut()
                .zip(tt.train.image(i).unwrap())
            {
                *m += f64::from(x) / counts[l] as f64;
            }
        }
        let mut correct = 0;
        for i in 0..tt.test.len {
            let x = tt.test.image(i).unwrap();
            let best = (0..CLASSES)
                .map(|c| {
                    let d: f64 = means[c * DIM..(c + 1) * DIM]
                        .iter()
                        .zip(x)
                        .map(|(m, &v)| (m - f64::from(v)).powi(2))
                        .sum();
                    (d, c)
                })
                .fold((f64::INFINITY, 0), |a, b| if b.0 < a.0 { b } else { a })
                .1;
            correct += usize::from(best == usize::from(tt.test.labels[i]));
        }
        let acc = correct as f64 / tt.test.len as f64;
        eprintln!("nearest-centroid test accuracy {acc}");
        assert!(
            (0.3..0.97).contains(&acc),
            "nearest-centroid accuracy {acc}"
        );
    }
}
