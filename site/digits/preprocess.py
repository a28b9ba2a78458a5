"""Canvas ink -> a 28x28 image normalised the way MNIST's digits were.

MNIST's recipe (LeCun et al.): crop the digit to its bounding box, scale it with anti-aliasing so
that the longer side is 20 px (aspect ratio kept), then place it in a 28x28 field so that its
centre of mass sits at the centre. A network trained on MNIST has only ever seen digits prepared
this way, so a drawing must be prepared the same way before the network sees it.

Done here in two resampling steps, each a pair of small matrices (separable, so one resample is
two matrix products and no Python loop touches a pixel):

  1. crop -> an intermediate image whose longer side is 80 px (4 x 20): area averaging when
     shrinking, linear interpolation when enlarging a tiny drawing;
  2. stroke width brought into MNIST's range at that resolution (a pen much thinner or thicker
     than MNIST's is widened or narrowed by a grey dilation or erosion), then
  3. intermediate -> 28x28 by area averaging (about 4:1), shifted by a fraction of a pixel so the
     centre of mass lands exactly where MNIST puts it.

numpy only: the same file runs in the page (Pyodide, numpy 2.0).
"""

from __future__ import annotations

import numpy as np

SIZE = 28  # the network's input field
BOX = 20  # MNIST scales the longer side of the digit's bounding box to this
OVERSAMPLE = 4  # intermediate resolution, in intermediate pixels per output pixel
CENTRE = 14.5  # where MNIST's centre of mass sits, in continuous coordinates (pixel i spans [i, i+1))
FLOOR = 0.05  # ink fainter than this is paper, not ink (keeps faint smudges out of the box and the centre)

# Stroke width of MNIST digits in output pixels, estimated as 2 * area / perimeter of the ink
# (see stroke_width): median 2.0, 5th-95th percentile 1.3-3.1. Widths inside [THINNEST, THICKEST]
# are left as the writer drew them. A thinner pen (a 1-px line says nothing about how bold the
# writer meant it) is widened to MNIST's typical width; a thicker one is narrowed to the band.
THINNEST, THICKEST = 1.5, 3.2
TYPICAL = 2.0
MAX_WIDEN, MAX_NARROW = 4, 2  # the most a stroke is dilated / eroded, in intermediate pixels per side


def as_ink(ink) -> np.ndarray:
    """Check that ``ink`` is a 2-D real array and return it as one (not yet cleaned: see clean).

    Whole numbers are read by their values, whatever their type: only 0s and 1s are a mask (ink = 1,
    as bool); anything above 1 means pixels 0..255, brought to 0..1. So a uint8 mask reads like the
    same mask as bool or int64, and a uint8 canvas like the same canvas as int64. The one case
    this rule reads differently from "uint8 is 0..255": a canvas whose darkest pixel is 1 of 255,
    far below FLOOR as a pixel value, is taken for a mask.
    """
    ink = np.asarray(ink)
    if ink.ndim != 2:
        raise ValueError(f"ink must be a 2-D array (height, width) of values 0..1, got shape {ink.shape}")
    if ink.dtype.kind not in "biuf":
        raise ValueError(f"ink must hold real numbers 0..1, got dtype {ink.dtype}")
    if ink.dtype.kind in "iu" and ink.size and ink.max() > 1:
        return ink / np.float32(255)
    return ink


def framed(image: np.ndarray, width: int) -> np.ndarray:
    """(H, W) -> (H + 2 width, W + 2 width): the image in a blank border ``width`` wide, as
    ``np.pad(image, width)``, without np.pad's Python, which the page pays at every call."""
    out = np.zeros((image.shape[0] + 2 * width, image.shape[1] + 2 * width), image.dtype)
    out[width : width + image.shape[0], width : width + image.shape[1]] = image
    return out


def clean(ink: np.ndarray) -> np.ndarray:
    """(H, W) real array -> (H, W) float32 in 0..1: NaN as 0, infinities clipped, paper-faint as 0."""
    if ink.dtype.kind != "f":
        ink = ink.astype(np.float32)  # a bool or 0/1 mask
    # Clipped before the cast (no overflow), then one comparison does the rest: NaN, -inf and
    # anything below FLOOR compare False and become 0. In the page, np.fmax/fmin (which skip NaN)
    # have no SIMD and np.clip wraps the same ufuncs in Python paid per call: plain ufuncs here.
    ink = np.minimum(np.maximum(ink, -1), 1).astype(np.float32, copy=False)
    return np.where(ink >= FLOOR, ink, np.float32(0))


def bounding_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the ink at least FLOOR dark, bottom/right exclusive; None if blank.

    Works on raw ink too: NaN and -inf compare False, so they never count as ink.
    """
    if ink.dtype == bool:
        ink = ink.view(np.uint8)
    # Each row's darkest pixel, then the columns of the rows that hold ink only: one pass over the
    # canvas instead of a mask and two reductions of it.
    rows = np.flatnonzero(darkest(ink, axis=1) >= FLOOR) if ink.size else np.zeros(0, np.intp)
    if rows.size == 0:
        return None
    cols = np.flatnonzero(darkest(ink[rows[0] : rows[-1] + 1], axis=0) >= FLOOR)
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def darkest(ink: np.ndarray, axis: int) -> np.ndarray:
    """The largest value along ``axis``, NaN ignored (as np.fmax.reduce, several times faster in
    the page, where numpy's fmax has no SIMD): max, then fmax only where a NaN came out."""
    out = ink.max(axis=axis)
    if out.dtype.kind == "f":
        nan = np.isnan(out)
        if nan.any():
            out[nan] = np.fmax.reduce(np.compress(nan, ink, axis=1 - axis), axis=axis)
    return out


def resample_matrix(n_in: int, n_out: int, scale: float, shift: float = 0.0) -> np.ndarray:
    """(n_out, n_in) float32 matrix resampling one axis: ``out = R @ in``.

    Input coordinate v (pixel i spans [i, i+1)) lands at output coordinate ``v * scale + shift``.
    Shrinking (scale < 1) averages over each output pixel's footprint (area averaging: every
    input pixel contributes in proportion to its overlap, so nothing aliases). Enlarging
    interpolates linearly between input pixel centres. Outside the input counts as blank.
    """
    out_edges = (np.arange(n_out + 1, dtype=np.float64) - shift) / scale  # output edges, in input coords
    if scale < 1.0:
        lo = np.maximum(out_edges[:-1, None], np.arange(n_in)[None, :])
        hi = np.minimum(out_edges[1:, None], np.arange(1, n_in + 1)[None, :])
        weights = np.maximum(hi - lo, 0.0) * scale
    else:
        centres = (out_edges[:-1] + out_edges[1:]) / 2  # output pixel centres, in input coords
        weights = np.maximum(1.0 - np.abs(centres[:, None] - (np.arange(n_in) + 0.5)[None, :]), 0.0)
    return weights.astype(np.float32)


def resample_band(n_in: int, n_out: int, scale: float, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``resample_matrix`` without its zeros: ((n_out, K) input indices, (n_out, K) float32 weights),
    ``out[i] = sum_k weights[i, k] * in[index[i, k]]``, K the widest footprint of an output pixel.

    Each output pixel reads a few neighbouring input pixels (about 1/scale when shrinking, 2 when
    enlarging): a band K wide does the work of the whole (n_out, n_in) matrix product, which in
    the page (numpy without BLAS) was most of to_mnist's time. Same weights, same formulas.
    """
    out_edges = (np.arange(n_out + 1, dtype=np.float64) - shift) / scale
    if scale < 1.0:
        first = np.floor(out_edges[:-1])
        width = max(1, int((np.ceil(out_edges[1:]) - first).max()))
        index = first.astype(np.int64)[:, None] + np.arange(width)
        lo = np.maximum(out_edges[:-1, None], index)
        hi = np.minimum(out_edges[1:, None], index + 1)
        weights = np.maximum(hi - lo, 0.0) * scale
    else:
        centres = (out_edges[:-1] + out_edges[1:]) / 2
        index = np.floor(centres - 0.5).astype(np.int64)[:, None] + np.arange(2)  # the two nearest centres
        weights = np.maximum(1.0 - np.abs(centres[:, None] - (index + 0.5)), 0.0)
    inside = (index >= 0) & (index < n_in)  # outside the input counts as blank
    return np.minimum(np.maximum(index, 0), n_in - 1), np.where(inside, weights, 0.0).astype(np.float32)


def resample(image: np.ndarray, shape: tuple[int, int], scale: float, shift: tuple[float, float] = (0.0, 0.0)):
    """(H, W) -> ``shape``, both axes scaled by ``scale`` and moved by ``shift`` (rows, cols):
    ``R @ image @ C.T`` with R and C from ``resample_matrix``, computed on their bands."""
    rows, row_weights = resample_band(image.shape[0], shape[0], scale, shift[0])
    cols, col_weights = resample_band(image.shape[1], shape[1], scale, shift[1])
    tall = np.einsum("ok,okw->ow", row_weights, image[rows])  # (shape[0], W)
    return np.einsum("ok,hok->ho", col_weights, tall[:, cols])


def stroke_width(image: np.ndarray) -> float:
    """Mean stroke width in pixels of (H, W) ink: 2 * area / perimeter of the ink above 0.5.

    For a long stroke of width w the area is w * length and the perimeter about 2 * length.
    """
    ink = framed(image > 0.5, 1)
    area = np.count_nonzero(ink)
    perimeter = np.count_nonzero(ink[1:] != ink[:-1]) + np.count_nonzero(ink[:, 1:] != ink[:, :-1])
    return 2.0 * area / perimeter if perimeter else 0.0


def grey_morphology(image: np.ndarray, radius: int) -> np.ndarray:
    """Dilate (radius > 0) or erode (radius < 0) (H, W) grey ink with a square of side 2|r|+1.

    A dilation returns (H + 2r, W + 2r), so that nothing is cut off; an erosion returns
    (H, W), eroding against blank paper at the edges.
    """
    if radius == 0:
        return image
    r = abs(radius)
    combine = np.maximum if radius > 0 else np.minimum
    out = framed(image, 2 * r if radius > 0 else r)
    for axis in (0, 1):  # a square window is a row window after a column window
        n = out.shape[axis] - 2 * r
        shifted = [out[k : k + n] if axis == 0 else out[:, k : k + n] for k in range(2 * r + 1)]  # views
        window = shifted[0].copy()
        for other in shifted[1:]:
            combine(window, other, out=window)
        out = window
    return out


def bolder_and_lighter(images: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W) prepared digits -> the same drawn with a bolder and with a lighter pen: each moved
    ``amount`` of the way towards its grey dilation, and its erosion, by a 3x3 square (blank paper
    beyond the edges, as ``grey_morphology`` with radius 1, cropped back to (H, W))."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 2, w + 2), np.float32)
    padded[:, 1:-1, 1:-1] = images
    out = []
    for combine in (np.maximum, np.minimum):  # a square window is a row window after a column window
        rows = combine(combine(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])  # (N, H, W + 2)
        window = combine(combine(rows[:, :, :-2], rows[:, :, 1:-1]), rows[:, :, 2:])  # (N, H, W)
        out.append(images + np.float32(amount) * (window - images))
    return out[0], out[1]


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, col) centre of mass of (H, W) non-blank ink, in continuous coordinates."""
    mass = image.sum(dtype=np.float64)
    rows = image.sum(axis=1, dtype=np.float64) @ (np.arange(image.shape[0]) + 0.5)
    cols = image.sum(axis=0, dtype=np.float64) @ (np.arange(image.shape[1]) + 0.5)
    return float(rows / mass), float(cols / mass)


def to_mnist(ink: np.ndarray) -> np.ndarray:
    """(H, W) ink, 0..1 with 1 = ink, any size -> (28, 28) float32, MNIST-normalised.

    The longer side of the ink's bounding box becomes 20 px, the centre of mass sits at the
    centre of the field, strokes are about as wide as MNIST's and the darkest pixel is 1.0.
    Blank ink gives all zeros.
    """
    ink = as_ink(ink)
    box = bounding_box(ink)
    if box is None:
        return np.zeros((SIZE, SIZE), np.float32)
    top, bottom, left, right = box
    return normalise(clean(ink[top:bottom, left:right]))


def normalise(crop: np.ndarray) -> np.ndarray:
    """``to_mnist`` of ink already cleaned (``clean``) and cropped to its bounding box, as a
    ``segment.Piece``'s is: the reader prepares its pieces without looking for their box again.
    """
    # 1. crop -> intermediate, longer side BOX * OVERSAMPLE
    scale = BOX * OVERSAMPLE / max(crop.shape)
    shape = tuple(max(1, int(np.ceil(n * scale - 1e-6))) for n in crop.shape)
    fine = resample(crop, shape, scale)
    darkest = fine.max()
    if darkest <= 0:
        return np.zeros((SIZE, SIZE), np.float32)
    fine /= darkest  # a light pen reads like a dark one

    # 2. stroke width into MNIST's band
    width = stroke_width(fine) / OVERSAMPLE
    if 0 < width < THINNEST:
        radius = min(MAX_WIDEN, round((TYPICAL - width) * OVERSAMPLE / 2))
    elif width > THICKEST:
        radius = -min(MAX_NARROW, round((width - THICKEST) * OVERSAMPLE / 2))
    else:
        radius = 0
    adjusted = grey_morphology(fine, radius)
    if adjusted.max() > 0.5:  # an erosion that would erase the whole digit is not applied
        fine = adjusted

    # 3. intermediate -> 28x28, centre of mass to CENTRE; the longer side back to BOX even if a
    #    dilation grew it (MNIST's 20 px include the stroke's own width)
    com_row, com_col = centre_of_mass(fine)
    step = BOX / max(fine.shape)
    out = resample(fine, (SIZE, SIZE), step, (CENTRE - com_row * step, CENTRE - com_col * step))
    darkest = out.max()
    return (out / darkest if darkest > 0 else out).astype(np.float32, copy=False)
