/**
 * The metric catalog: every full-reference metric described once (name, family, direction, parameters,
 * how it treats colour, its smallest image, and a version). The GraphQL enum and validation, the CLI, the
 * docs (docs/metrics.md) and the engine's dispatch (native/include/medpsim/metrics.generated.hpp: the
 * engine binds its functions to these names and converts colour by `channels`) all read this table.
 *
 * Every engine metric compares two images of the same size and channel count, sampled in [0, 1], with a
 * data range L (the peak signal, in those units) taken from the images' bit depth; see docs/metrics.md.
 *
 * `version` changes whenever a metric's values would change (a fix, a different pinned setting): stored
 * scores carry it, and a score of another version is recomputed, never mixed with new ones.
 */
import type { ParamSpec } from '../distortions/catalog';

export const METRIC_FAMILIES = ['pixel', 'structural', 'gradient', 'wavelet', 'information', 'phase', 'deep'] as const;
export type MetricFamily = (typeof METRIC_FAMILIES)[number];

/** distance: 0 for identical images, larger is more different. similarity: larger is more alike. */
export type MetricDirection = 'distance' | 'similarity';

/**
 * What a metric does with an RGB pair: `pooled` pools every sample of every channel (MSE, PSNR);
 * `per_channel` computes on each channel and averages the channels' values; `luminance` first converts
 * each image to BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B; `model` gives the backbone what it takes
 * (luma for a 1-channel graph, grey repeated for a 3-channel one). Greyscale pairs are used as they are.
 */
export type ChannelRule = 'pooled' | 'per_channel' | 'luminance' | 'model';

export interface MetricSpec {
  name: string;
  family: MetricFamily;
  direction: MetricDirection;
  /** What it measures and every setting pinned, in plain words (the docs print it). */
  description: string;
  /** The publication (and reference code) the implementation follows. */
  reference: string;
  params: readonly ParamSpec[];
  channels: ChannelRule;
  /** Smallest width and height (with default parameters) and the rule, in words. */
  minSide: number;
  minSideRule: string;
  /** What the per-pixel map holds (always returned at the input's size). */
  map: string;
  /** How ours relates to scikit-image and the common PyTorch toolkits (pyiqa, piq, torchmetrics). */
  toolkits: string;
  version: number;
  /** Computed by a registered ONNX backbone (each request names it), not by the native engine. */
  model?: boolean;
}

export const METRICS: readonly MetricSpec[] = [
  {
    name: 'mse',
    family: 'pixel',
    direction: 'distance',
    description: 'Mean squared error over all samples (all channels pooled), in [0, 1] units: (a - b)^2 averaged. L2 in the study.',
    reference: 'The usual definition.',
    params: [],
    channels: 'pooled',
    minSide: 1,
    minSideRule: 'any size.',
    map: 'the squared error, averaged over channels.',
    toolkits: 'Equals skimage.metrics.mean_squared_error on images scaled to [0, 1]. torchmetrics pools over the whole batch unless told otherwise; ours is per pair.',
    version: 1,
  },
  {
    name: 'psnr',
    family: 'pixel',
    direction: 'similarity',
    description: 'Peak signal-to-noise ratio in dB, 10 log10(L^2 / MSE), with L the data range from the bit depth. Infinite for identical images (GraphQL gives null, the CLI prints inf).',
    reference: 'The usual definition.',
    params: [],
    channels: 'pooled',
    minSide: 1,
    minSideRule: 'any size.',
    map: 'the squared error, averaged over channels (as for mse).',
    toolkits: 'Equals skimage.metrics.peak_signal_noise_ratio with data_range set to L (skimage guesses it from the dtype otherwise; torchmetrics from the data, a trap for X-rays).',
    version: 1,
  },
  {
    name: 'ssim',
    family: 'structural',
    direction: 'similarity',
    description:
      'Structural similarity (Wang et al. 2004): Gaussian window of sigma 1.5 truncated to 11 x 11 taps, K1 = 0.01, K2 = 0.03, C1 = (K1 L)^2, C2 = (K2 L)^2, population (not sample) covariances, no downsampling; the mean of the SSIM map over the pixels whose whole window lies inside the image (5 pixels cropped at each border).',
    reference: 'Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error visibility to structural similarity", IEEE TIP 13(4), 2004.',
    params: [],
    channels: 'per_channel',
    minSide: 11,
    minSideRule: 'at least 11 x 11 (one whole window); smaller images are refused.',
    map: 'the SSIM map (mean over channels), borders from mirrored samples (scipy mode "reflect"); the score averages its interior only.',
    toolkits:
      'Equals skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=L) (channel_axis for RGB). pyiqa computes SSIM on the Y channel of RGB and downsamples large images; piq downsamples by default (downsample=True); pytorch-msssim uses an 11-tap window without the border crop rule. Those give different numbers for the same name.',
    version: 1,
  },
  {
    name: 'ms_ssim',
    family: 'structural',
    direction: 'similarity',
    description:
      'Multi-scale SSIM (Wang, Simoncelli, Bovik 2003): SSIM\'s window and constants at each scale; between scales a 2 x 2 block mean (an odd last row or column is averaged with its mirror, as MATLAB imfilter "symmetric" then every second sample) halves the image. MS-SSIM = prod_j cs_j^w_j * ssim_M^w_M with the published weights 0.0448, 0.2856, 0.3001, 0.2363, 0.1333 for 5 scales (fewer scales: the first ones, divided by their sum); negative cs or ssim values are clamped to 0 before the powers.',
    reference: 'Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity for image quality assessment", Asilomar 2003 (and the authors\' msssim.m).',
    params: [
      { name: 'scales', unit: 'scales', min: 1, max: 5, default: 5, integer: true, description: 'Number of scales (5 as published; fewer for small patches).' },
    ],
    channels: 'per_channel',
    minSide: 161,
    minSideRule: 'the coarsest scale must hold one 11 x 11 window: each side n needs ceil(n / 2^(scales - 1)) >= 11, i.e. 161 pixels for 5 scales, 81 for 4, 41 for 3, 21 for 2.',
    map: 'the SSIM map of the finest scale (mean over channels).',
    toolkits:
      'scikit-image has none. pytorch-msssim and piq use average pooling with zero padding for odd sizes and ReLU on cs (ours clamps likewise); torchmetrics does not clamp by default. Values agree with those toolkits where the image sides are powers of two times 11 or more.',
    version: 1,
  },
  {
    name: 'gmsd',
    family: 'gradient',
    direction: 'distance',
    description:
      'Gradient magnitude similarity deviation (Xue et al. 2014), as the authors\' MATLAB code: samples scaled to 0..255 by 255 / L, a 2 x 2 mean (zero beyond the last row and column) then every second sample, Prewitt gradients divided by 3 (zero padded), GMS = (2 m1 m2 + 170) / (m1^2 + m2^2 + 170), and GMSD the standard deviation of the GMS map (N - 1 in the denominator, MATLAB std2).',
    reference: 'W. Xue, L. Zhang, X. Mou, A. C. Bovik, "Gradient magnitude similarity deviation: a highly efficient perceptual image quality index", IEEE TIP 23(2), 2014.',
    params: [],
    channels: 'luminance',
    minSide: 2,
    minSideRule: 'at least 2 x 2.',
    map: 'the GMS map (1 where gradients agree), computed at half resolution and repeated to the input size.',
    toolkits: 'piq.gmsd matches this definition for [0, 1] input with data_range 1; pyiqa likewise on the Y channel.',
    version: 1,
  },
  {
    name: 'haarpsi',
    family: 'wavelet',
    direction: 'similarity',
    description:
      'Haar wavelet-based perceptual similarity index (Reisenhofer et al. 2018), as the authors\' reference code for greyscale images: samples scaled to 0..255, a 2 x 2 mean and subsampling, Haar wavelets of 3 scales in 2 orientations (convolutions zero padded), C = 30, alpha = 4.2; local similarities from scales 1 and 2, weights from scale 3, pooled through the logistic function and its inverse. Where every weight is 0 (flat images) the two orientations count equally, so two flat images give 1 instead of the reference code\'s 0/0.',
    reference: 'R. Reisenhofer, S. Bosse, G. Kutyniok, T. Wiegand, "A Haar wavelet-based perceptual similarity index for image quality assessment", Signal Processing: Image Communication 61, 2018.',
    params: [],
    channels: 'luminance',
    minSide: 2,
    minSideRule: 'at least 2 x 2.',
    map: 'per pixel, HaarPSI of that pixel alone (the logistic local similarities of the two orientations pooled with their weights, then the inverse logistic, squared; 1 where identical), at half resolution, repeated to the input size.',
    toolkits: 'piq.haarpsi and pyiqa follow the same reference code; on RGB they add the chroma term of the colour version, which ours leaves out (luma only).',
    version: 1,
  },
  {
    name: 'vif',
    family: 'information',
    direction: 'similarity',
    description:
      'Visual information fidelity in the pixel domain (VIFp, Sheikh & Bovik 2006), as the authors\' vifp_mscale.m: samples scaled to 0..255, 4 scales with Gaussian windows of N = 17, 9, 5, 3 taps and sigma N / 5 ("valid" filtering, every second sample between scales), sigma_n^2 = 2; the ratio of the summed information terms.',
    reference: 'H. R. Sheikh, A. C. Bovik, "Image information and visual quality", IEEE TIP 15(2), 2006.',
    params: [],
    channels: 'luminance',
    minSide: 41,
    minSideRule: 'at least 41 x 41 (the fourth scale must hold one 3 x 3 window).',
    map: 'the finest scale\'s ratio of the information terms per pixel (1 where the distorted image keeps all information), edge pixels repeated to the input size.',
    toolkits: 'piq.vif_p and pyiqa\'s vif follow the same code (piq on [0, 1] input with data_range 1, scaled to 0..255 inside).',
    version: 1,
  },
  {
    name: 'fsim',
    family: 'phase',
    direction: 'similarity',
    description:
      'Feature similarity index (Zhang et al. 2011), as the authors\' FeatureSIM.m for greyscale images: samples scaled to 0..255, downsampled by F = max(1, round(min side / 256)) (F x F mean, then every F-th sample), phase congruency from log-Gabor filters (4 scales, 4 orientations, minimum wavelength 6, factor 2, sigmaOnf 0.55, k 2), Scharr gradient magnitudes, T1 = 0.85, T2 = 160; FSIM = sum(S_PC S_G PC_m) / sum(PC_m).',
    reference: 'L. Zhang, L. Zhang, X. Mou, D. Zhang, "FSIM: a feature similarity index for image quality assessment", IEEE TIP 20(8), 2011 (phase congruency after P. Kovesi\'s phasecong2).',
    params: [],
    channels: 'luminance',
    minSide: 8,
    minSideRule: 'at least 8 x 8 after the downsampling.',
    map: 'S_PC * S_G (the local similarity, 1 where identical), repeated to the input size when downsampled.',
    toolkits: 'piq.fsim and pyiqa\'s fsim follow the same code; on RGB they compute FSIMc with the chroma term, ours uses luma only.',
    version: 1,
  },
  {
    name: 'lpips',
    family: 'deep',
    direction: 'distance',
    description:
      'Deep-feature distance of a registered backbone (LPIPS\'s formula, Zhang et al. 2018): for each chosen feature output, each pixel\'s feature vector divided by its length (+ 1e-10), the squared difference of the two images\' vectors, weighted per channel by the model\'s non-negative weights (its "lin" file; 1 without one) and summed over channels, averaged over the pixels; the layers summed. The study\'s metric is the ResNet50 classifier\'s (conv1 and layer1 to layer4); the model\'s manifest says which layers are the default, which input size it takes (its own: the images\' size) and what goes into the graph. Samples go in as stored (8-bit / 255, 16-bit / 65535), as the backbone was trained on them.',
    reference: 'R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The unreasonable effectiveness of deep features as a perceptual metric", CVPR 2018.',
    params: [],
    channels: 'model',
    minSide: 1,
    minSideRule: 'any size the backbone takes.',
    map: 'none (the distance is pooled over the pixels of every layer).',
    toolkits: 'Equals lpips.LPIPS(net=..., lpips=True) of the PerceptualSimilarity package for a backbone exported with its lin weights (training/README.md), on the same inputs; without weights, as lpips=False. LPIPS\'s own loader converts images to 8-bit RGB and scales to [-1, 1]; our exports put that scaling in the graph, and 16-bit data stays 16-bit.',
    version: 1,
    model: true,
  },
];

/** The metrics the native engine computes (every one but the deep-feature ones). */
export const ENGINE_METRICS = METRICS.filter((metric) => !metric.model);

export const METRIC_NAMES = METRICS.map((metric) => metric.name);

export function metricSpec(name: string): MetricSpec | undefined {
  return METRICS.find((metric) => metric.name === name);
}
