"""A small numpy evaluator for the ONNX operators these exports use (float64 internally).

Python has no onnxruntime here and onnx 1.12 has no onnx.reference, yet "the exported graph computes what
PyTorch computes" must be tested: this runs the .onnx file itself, independently of PyTorch, for the ops
below. Anything else raises NotImplementedError (a new layer type needs its op here, or onnxruntime).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from onnx import helper, numpy_helper


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _windows(x, kernel, strides, dilations):
    """(N, C, H, W) -> (N, C, Ho, Wo, kh, kw) views of the (already padded) input."""
    kh, kw = kernel
    dh, dw = dilations
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    v = sliding_window_view(x, span, axis=(2, 3))[:, :, :: strides[0], :: strides[1], ::dh, ::dw]
    return v


def _conv(x, w, b, strides, pads, dilations, group):
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, c = x.shape[:2]
    o = w.shape[0]
    outs = []
    for g in range(group):
        xs = x[:, g * (c // group) : (g + 1) * (c // group)]
        ws = w[g * (o // group) : (g + 1) * (o // group)]
        win = _windows(xs, ws.shape[2:], strides, dilations)
        outs.append(np.tensordot(win, ws, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2))
    y = np.concatenate(outs, axis=1) if group > 1 else outs[0]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y


def op_conv(node, x, w, b=None):
    a = _attrs(node)
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    return _conv(x, w, b, a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0]), a.get("dilations", [1, 1]), a.get("group", 1))


def op_conv_transpose(node, x, w, b=None):
    a = _attrs(node)
    if a.get("group", 1) != 1 or "output_shape" in a:
        raise NotImplementedError("ConvTranspose with groups or output_shape")
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pads = a.get("pads", [0, 0, 0, 0])
    oph, opw = a.get("output_padding", [0, 0])
    kh, kw = w.shape[2:]
    n, c, h, wd = x.shape
    # A transposed convolution is a convolution of the zero-stuffed input with the flipped, transposed kernel.
    z = np.zeros((n, c, (h - 1) * sh + 1, (wd - 1) * sw + 1), dtype=x.dtype)
    z[:, :, ::sh, ::sw] = x
    ph0, pw0 = dh * (kh - 1) - pads[0], dw * (kw - 1) - pads[1]
    ph1, pw1 = dh * (kh - 1) - pads[2] + oph, dw * (kw - 1) - pads[3] + opw
    z = np.pad(z, ((0, 0), (0, 0), (max(ph0, 0), max(ph1, 0)), (max(pw0, 0), max(pw1, 0))))
    z = z[:, :, -min(ph0, 0) or None : z.shape[2] + min(ph1, 0), -min(pw0, 0) or None : z.shape[3] + min(pw1, 0)]
    wk = np.flip(w, axis=(2, 3)).transpose(1, 0, 2, 3)
    return _conv(z, wk, b, [1, 1], [0, 0, 0, 0], [dh, dw], 1)


def op_max_pool(node, x):
    a = _attrs(node)
    if a.get("ceil_mode", 0) or a.get("storage_order", 0):
        raise NotImplementedError("MaxPool ceil_mode/storage_order")
    p = a.get("pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])), constant_values=-np.inf)
    win = _windows(x, a["kernel_shape"], a.get("strides", [1, 1]), a.get("dilations", [1, 1]))
    return win.max(axis=(4, 5))


def op_batch_norm(node, x, scale, bias, mean, var):
    eps = _attrs(node).get("epsilon", 1e-5)
    s = lambda v: v.reshape(1, -1, 1, 1)  # noqa: E731
    return (x - s(mean)) / np.sqrt(s(var) + eps) * s(scale) + s(bias)


def op_instance_norm(node, x, scale, bias):
    eps = _attrs(node).get("epsilon", 1e-5)
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale.reshape(1, -1, 1, 1) + bias.reshape(1, -1, 1, 1)


def _linear_axis(n_in, n_out, scale):
    # half_pixel: x_in = (x_out + 0.5) / scale - 0.5, clamped to the image (PyTorch's align_corners=False).
    src = np.clip((np.arange(n_out) + 0.5) / scale - 0.5, 0, n_in - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, src - i0


def op_resize(node, x, roi=None, scales=None, sizes=None):
    a = _attrs(node)
    mode = a.get("mode", b"nearest")
    ctm = a.get("coordinate_transformation_mode", b"half_pixel")
    if scales is None or scales.size == 0:
        raise NotImplementedError("Resize with sizes")
    sh, sw = float(scales[2]), float(scales[3])
    h, w = x.shape[2:]
    oh, ow = int(np.floor(h * sh)), int(np.floor(w * sw))
    if mode == b"nearest" and ctm == b"asymmetric" and a.get("nearest_mode", b"round_prefer_floor") == b"floor":
        iy = np.minimum(np.floor(np.arange(oh) / sh).astype(int), h - 1)
        ix = np.minimum(np.floor(np.arange(ow) / sw).astype(int), w - 1)
        return x[:, :, iy][:, :, :, ix]
    if mode == b"linear" and ctm in (b"half_pixel", b"pytorch_half_pixel"):
        y0, y1, fy = _linear_axis(h, oh, sh)
        x0, x1, fx = _linear_axis(w, ow, sw)
        fy = fy.reshape(1, 1, -1, 1)
        rows = x[:, :, y0] * (1 - fy) + x[:, :, y1] * fy
        return rows[:, :, :, x0] * (1 - fx) + rows[:, :, :, x1] * fx
    raise NotImplementedError(f"Resize mode={mode} coordinate_transformation_mode={ctm}")


def op_gemm(node, a_, b_, c=None):
    a = _attrs(node)
    if a.get("transA", 0):
        a_ = a_.T
    if a.get("transB", 0):
        b_ = b_.T
    y = a.get("alpha", 1.0) * (a_ @ b_)
    return y if c is None else y + a.get("beta", 1.0) * c


def op_flatten(node, x):
    axis = _attrs(node).get("axis", 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


OPS = {
    "Add": lambda n, a, b: a + b,
    "Sub": lambda n, a, b: a - b,
    "Mul": lambda n, a, b: a * b,
    "Div": lambda n, a, b: a / b,
    "Relu": lambda n, x: np.maximum(x, 0),
    "LeakyRelu": lambda n, x: np.where(x >= 0, x, _attrs(n).get("alpha", 0.01) * x),
    "Sigmoid": lambda n, x: 1.0 / (1.0 + np.exp(-x)),
    "Tanh": lambda n, x: np.tanh(x),
    "Identity": lambda n, x: x,
    "Concat": lambda n, *xs: np.concatenate(xs, axis=_attrs(n)["axis"]),
    "GlobalAveragePool": lambda n, x: x.mean(axis=(2, 3), keepdims=True),
    "Flatten": op_flatten,
    "Gemm": op_gemm,
    "Conv": op_conv,
    "ConvTranspose": op_conv_transpose,
    "MaxPool": op_max_pool,
    "BatchNormalization": op_batch_norm,
    "InstanceNormalization": op_instance_norm,
    "Resize": op_resize,
}


def run(model, feeds):
    """Evaluates model (an onnx.ModelProto) on feeds {input name: array}; returns {output name: float32 array}."""
    values = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    values.update({k: np.asarray(v, dtype=np.float64) for k, v in feeds.items()})
    for node in model.graph.node:  # ONNX graphs are stored in topological order
        if node.op_type == "Constant":
            values[node.output[0]] = numpy_helper.to_array(_attrs(node)["value"]).astype(np.float64)
            continue
        fn = OPS.get(node.op_type)
        if fn is None:
            raise NotImplementedError(f"ONNX op {node.op_type} (node {node.name}) is not in the numpy evaluator")
        args = [values[i] if i else None for i in node.input]
        while args and args[-1] is None:
            args.pop()
        values[node.output[0]] = fn(node, *args)
    return {o.name: values[o.name].astype(np.float32) for o in model.graph.output}
