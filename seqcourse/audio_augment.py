"""Waveform augmentation for notebook 08: make training speech vary the way real recordings do.

A recogniser trained on a few voices learns those voices and their microphone. The functions
here perturb 8 kHz float32 waveforms, each a pure function of its arguments and a NumPy
``Generator`` (so a seeded composer gives the same data every run), each keeping the
waveform's dtype; all but the speed change keep its length:

- :func:`resample` / :func:`change_speed`: tape-style speed perturbation (tempo, pitch and
  formants move together, the "speed perturbation" of Ko et al., 2015);
- :func:`warp_formants`: vocal-tract-length perturbation, the spectrum's frequency axis
  stretched by a factor (formants move, duration does not);
- :func:`random_eq`: a random smooth equaliser curve and, sometimes, telephone-like band
  limiting (microphones and channels colour speech);
- :func:`add_reverb`: a short synthetic room impulse response (exponentially decaying noise);
- :func:`add_noise`: white noise at a signal-to-noise ratio.

:class:`Augmentation` bundles them with their ranges; ``compose_utterances(...,
augment=Augmentation())`` applies them while it builds training utterances. NumPy only: the FFT
does the filtering and resampling.
"""

from __future__ import annotations

import dataclasses

import numpy as np

SAMPLE_RATE = 8000


def resample(audio: np.ndarray, length: int) -> np.ndarray:
    """``audio`` resampled to ``length`` samples by zero-padding or truncating its spectrum
    (band-limited interpolation, like ``scipy.signal.resample``: downsampling removes what lies
    above the new Nyquist frequency instead of aliasing it).

    Example:
        >>> resample(np.ones(8, np.float32), 4)
        array([1., 1., 1., 1.], dtype=float32)
    """
    audio = np.asarray(audio, np.float32)
    length = max(int(length), 1)
    if length == len(audio):
        return audio.copy()
    spectrum = np.fft.rfft(audio)
    keep = min(len(spectrum), length // 2 + 1)
    resized = np.zeros(length // 2 + 1, complex)
    resized[:keep] = spectrum[:keep]
    return (np.fft.irfft(resized, length) * (length / len(audio))).astype(np.float32)


def change_speed(clip: np.ndarray, factor: float) -> np.ndarray:
    """Play ``clip`` ``factor`` times faster, like a tape: shorter and higher for factor > 1.
    Linear interpolation: for the ±15% of speed perturbation its aliasing is far below the
    noise the composer adds, and it is many times faster than :func:`resample`."""
    clip = np.asarray(clip, np.float32)
    n = max(int(round(len(clip) / factor)), 1)
    return np.interp(np.arange(n) * factor, np.arange(len(clip)), clip).astype(np.float32)


def _fft_size(n: int) -> int:
    return 1 << max(int(n) - 1, 1).bit_length()


def _frames(audio: np.ndarray, size: int, hop: int) -> tuple[np.ndarray, int]:
    padded = np.pad(audio, (size, size + hop))
    count = (len(padded) - size) // hop + 1
    index = np.arange(size)[None] + hop * np.arange(count)[:, None]
    return padded[index], count


def warp_formants(audio: np.ndarray, factor: float, size: int = 256) -> np.ndarray:
    """Vocal-tract-length perturbation: every short-time spectrum (``size`` samples, hop
    ``size / 2``, Hann window) stretched along the frequency axis by ``factor`` (> 1 moves
    formants up, as a shorter vocal tract does), then overlap-added back. The length is kept.

    Example:
        >>> x = np.sin(2 * np.pi * 500 * np.arange(8000) / 8000).astype(np.float32)
        >>> y = warp_formants(x, 1.2)
        >>> peak = int(np.argmax(np.abs(np.fft.rfft(y))))  # in Hz: 1 s of audio
        >>> y.shape, abs(peak - 600) < 32  # 500 Hz -> 600 Hz, to a 31 Hz bin of the frames
        ((8000,), True)
    """
    audio = np.asarray(audio, np.float32)
    if factor == 1.0 or len(audio) == 0:
        return audio.copy()
    hop = size // 2
    window = np.hanning(size + 1)[:-1]
    frames, _ = _frames(audio, size, hop)
    spectra = np.fft.rfft(frames * window, axis=1)
    bins = np.arange(spectra.shape[1])
    source = bins / factor  # the output bin k takes the input's content at k / factor
    warped = np.zeros_like(spectra)
    inside = source <= bins[-1]
    low = np.floor(source[inside]).astype(int)
    high = np.minimum(low + 1, bins[-1])
    frac = source[inside] - low
    magnitude = np.abs(spectra)
    warped_mag = (1 - frac) * magnitude[:, low] + frac * magnitude[:, high]
    phase = np.angle(spectra[:, np.round(source[inside]).astype(int)])
    warped[:, inside] = warped_mag * np.exp(1j * phase)
    out_frames = np.fft.irfft(warped, size, axis=1) * window
    out = np.zeros(len(frames) * hop + size)
    norm = np.zeros_like(out)
    for phase_index in range(size // hop):  # frames phase_index, +2, +4, ... do not overlap
        chunk = out_frames[phase_index :: size // hop].reshape(-1)
        begin = phase_index * hop
        out[begin : begin + len(chunk)] += chunk
        norm[begin : begin + len(chunk)] += np.tile(window**2, len(chunk) // size)
    out = out / np.maximum(norm, 1e-3)
    return out[size : size + len(audio)].astype(np.float32)


def random_eq(
    audio: np.ndarray,
    rng: np.random.Generator,
    max_gain_db: float = 8.0,
    band_limit_probability: float = 0.5,
) -> np.ndarray:
    """A random equaliser: a gain curve through 6 random points (±``max_gain_db``, smooth in
    log frequency) and, with ``band_limit_probability``, a telephone-like band: nothing below
    100-400 Hz or above 2.5-3.8 kHz. Applied in the frequency domain; the length is kept."""
    audio = np.asarray(audio, np.float32)
    size = _fft_size(len(audio))  # zero-padded to a power of 2: fast, and no wrap-around
    spectrum = np.fft.rfft(audio, size)
    freqs = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
    points = np.geomspace(50, SAMPLE_RATE / 2, 6)
    gains_db = rng.uniform(-max_gain_db, max_gain_db, len(points))
    gain = 10 ** (np.interp(np.log(np.maximum(freqs, 50)), np.log(points), gains_db) / 20)
    if rng.random() < band_limit_probability:
        low, high = rng.uniform(100, 400), rng.uniform(2500, 3800)
        gain = gain / np.sqrt(1 + (low / np.maximum(freqs, 1)) ** 4)  # 2nd-order-like slopes
        gain = gain / np.sqrt(1 + (freqs / high) ** 8)
    return np.fft.irfft(spectrum * gain, size)[: len(audio)].astype(np.float32)


def add_reverb(audio: np.ndarray, rng: np.random.Generator, rt60: tuple = (0.1, 0.4)) -> np.ndarray:
    """``audio`` in a small room: convolved with exponentially decaying noise whose level
    falls 60 dB in a time drawn from ``rt60`` seconds, plus the direct sound. Length kept."""
    audio = np.asarray(audio, np.float32)
    seconds = rng.uniform(*rt60)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    response = rng.normal(0, 1, len(t)) * 10 ** (-3 * t / seconds)
    response = response / np.sqrt(np.sum(response**2)) * rng.uniform(0.2, 0.6)  # wet level
    response[0] = 1.0  # the direct path
    size = _fft_size(len(audio) + len(response) - 1)
    wet = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(response, size), size)
    return wet[: len(audio)].astype(np.float32)


def add_noise(audio: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """White Gaussian noise at ``snr_db`` relative to the mean power of ``audio``."""
    audio = np.asarray(audio, np.float32)
    noise_power = np.mean(audio**2) / 10 ** (snr_db / 10)
    return (audio + rng.normal(0, np.sqrt(noise_power), len(audio))).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """The perturbations :func:`~seqcourse.datasets.spoken_digits.compose_utterances` applies
    to training utterances. Per clip: speed factor from ``speed``, formant warp from
    ``formant_warp`` (None: off). Per utterance: :func:`random_eq` with probability
    ``eq_probability``, :func:`add_reverb` with ``reverb_probability``. A field set to None or
    0 switches that piece off, which is how the ablation measures each one."""

    speed: tuple[float, float] | None = (0.85, 1.15)
    formant_warp: tuple[float, float] | None = (0.88, 1.12)
    eq_probability: float = 0.8
    reverb_probability: float = 0.3

    def clip(self, clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One digit clip, perturbed in speed and vocal-tract length."""
        if self.speed is not None:
            clip = change_speed(clip, rng.uniform(*self.speed))
        if self.formant_warp is not None:
            clip = warp_formants(clip, rng.uniform(*self.formant_warp))
        return clip

    def channel(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A whole utterance through a random microphone/channel and room."""
        if self.eq_probability and rng.random() < self.eq_probability:
            audio = random_eq(audio, rng)
        if self.reverb_probability and rng.random() < self.reverb_probability:
            audio = add_reverb(audio, rng)
        return audio
