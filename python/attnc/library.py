"""A built library, loaded with ctypes, and its entries as Python callables.

An entry is called through its `NAME_packed_strided` C function (see
NAME.h), so that numpy arrays and torch CPU tensors of any strides pass
without a copy. A call checks each argument against NAME.json (kind,
dtype, rank, shape, strides), binds the run-time sizes from the shapes,
allocates the outputs (or checks `out=`), calls, and maps a non-zero code
to an exception. What a call learns from the kinds, dtypes, shapes and
strides of its arguments is kept per entry, so that a repeated call with
arguments laid out the same way does only the pointer work.
"""

import ctypes
import json
import os

import numpy

from .errors import (ArgumentError, ArgumentTypeError, EntryError,
                     RuntimeCheckError)
from .shapes import Extent, format_shape

_NUMPY_DTYPES = {
    "f32": numpy.dtype(numpy.float32),
    "f64": numpy.dtype(numpy.float64),
    "i32": numpy.dtype(numpy.int32),
    "i64": numpy.dtype(numpy.int64),
    "i1": numpy.dtype(numpy.bool_),
}
_C_SCALARS = {
    "f32": ctypes.c_float,
    "f64": ctypes.c_double,
    "i32": ctypes.c_int32,
    "i64": ctypes.c_int64,
    "i1": ctypes.c_uint8,
}
_Int64Array = ctypes.POINTER(ctypes.c_int64)


def _torch():
    """torch if it is loaded already: a call never imports it."""
    import sys
    return sys.modules.get("torch")


class Tensor:
    """One input or output of an entry, as NAME.json declares it."""

    def __init__(self, desc):
        self.name = desc["name"]
        self.dtype = desc["dtype"]
        # None for 16-bit floats, which numpy cannot hold: see Entry.
        self.numpy_dtype = _NUMPY_DTYPES.get(self.dtype)
        self.shape = [Extent(e) for e in desc["shape"]]
        self.rank = len(self.shape)

    def describe(self):
        if self.rank == 0:
            return "%s: %s" % (self.name, self.dtype)
        return "%s: %s%s" % (self.name, self.dtype, format_shape(self.shape))


class _Plan:
    """What the calls with arguments of one layout (kinds, dtypes, shapes,
    strides) share, checked once: the sizes, the strides arrays, how to
    take each input's address and how to make the outputs."""

    def __init__(self, size_values, strides, keep, inputs, out_shapes,
                 out_dtypes, as_torch, out_kinds, spans):
        self.size_values = size_values
        self.strides = strides
        self._keep = keep  # the int64 arrays that `strides` points into
        # Per input: _NUMPY, _TORCH, or the ctypes type of a scalar.
        self.inputs = inputs
        self.out_shapes = out_shapes
        self.out_dtypes = out_dtypes
        self.as_torch = as_torch
        # With out=: per output, _NUMPY or _TORCH.
        self.out_kinds = out_kinds
        # With out=: the byte span of every tensor (inputs, then outputs),
        # None for a scalar or an empty tensor, for the overlap check.
        self.spans = spans


_NUMPY, _TORCH = "numpy", "torch"


def _address(array):
    """The data pointer of a numpy array. `from_buffer` is three times
    faster than `.ctypes.data`, but only takes writable contiguous arrays."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(array))
    except (TypeError, ValueError, BufferError):
        return array.ctypes.data


def _key(value):
    """What decides a plan for one argument."""
    kind = type(value)
    if kind is numpy.ndarray or isinstance(value, numpy.ndarray):
        return (kind, value.dtype, value.shape, value.strides)
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        return (value.dtype, value.shape, value.stride(), value.device)
    return kind


def _span(view, itemsize):
    """(0, one past the last byte) of a view, relative to its address;
    None when it is empty."""
    shape, strides = view[1], view[2]
    if any(d == 0 for d in shape):
        return None
    last = sum((d - 1) * s for d, s in zip(shape, strides))
    return 0, (last + 1) * itemsize


class Entry:
    """A function of a built library. Call it with its inputs (numpy arrays
    or torch CPU tensors, in the declared order or by name), and optionally
    `out=` (one array or a sequence, one per output) and the sizes that the
    shapes do not show (`N=128`). Returns the output, or a tuple of them;
    torch tensors when an input is one."""

    def __init__(self, library, desc, codes):
        self.name = desc["name"]
        self.library = library
        self.inputs = [Tensor(t) for t in desc["inputs"]]
        self.outputs = [Tensor(t) for t in desc["outputs"]]
        self.sizes = list(desc["sizes"])
        self._codes = codes
        function = getattr(library._cdll, desc["functions"]["packed_strided"])
        function.restype = ctypes.c_int32
        function.argtypes = [ctypes.POINTER(ctypes.c_void_p),
                             ctypes.POINTER(_Int64Array), _Int64Array]
        self._function = function
        self._num_tensors = len(self.inputs) + len(self.outputs)
        self._Pointers = ctypes.c_void_p * self._num_tensors
        self._num_inputs = len(self.inputs)
        self._plans = {}
        self._unsupported = next((t for t in self.inputs + self.outputs
                                  if t.numpy_dtype is None), None)

    def __repr__(self):
        return "<attnc entry %s(%s) -> (%s)>" % (
            self.name, ", ".join(t.describe() for t in self.inputs),
            ", ".join(t.describe() for t in self.outputs))

    # -- Arguments -------------------------------------------------------

    def _bind_arguments(self, args, kwargs):
        """The inputs in declared order, and the sizes given by name."""
        if len(args) > len(self.inputs):
            raise ArgumentTypeError("%s takes %d inputs (%s), not %d" % (
                self.name, len(self.inputs),
                ", ".join(t.name for t in self.inputs), len(args)))
        values = list(args) + [None] * (len(self.inputs) - len(args))
        sizes = {}
        names = {t.name: i for i, t in enumerate(self.inputs)}
        for key, value in kwargs.items():
            if key in names:
                if names[key] < len(args):
                    raise ArgumentTypeError(
                        "%s: the input '%s' is given twice" % (self.name, key))
                values[names[key]] = value
            elif key in self.sizes:
                sizes[key] = value
            else:
                raise ArgumentTypeError(
                    "%s has no input or size named '%s' (inputs: %s; sizes: "
                    "%s)" % (self.name, key,
                             ", ".join(t.name for t in self.inputs) or "none",
                             ", ".join(self.sizes) or "none"))
        for i, value in enumerate(values):
            if value is None and i >= len(args):
                raise ArgumentTypeError("%s: missing the input '%s'" % (
                    self.name, self.inputs[i].describe()))
        return values, sizes

    def _view(self, tensor, value, role, any_device=False):
        """(address, shape, element strides, is_torch) of a tensor
        argument."""
        torch = _torch()
        if torch is not None and isinstance(value, torch.Tensor):
            if value.device.type != "cpu" and not any_device:
                raise ArgumentError(
                    "%s: %s '%s' is on %s; the library runs on the CPU" % (
                        self.name, role, tensor.name, value.device))
            expected = getattr(torch, str(tensor.numpy_dtype)
                               if tensor.dtype != "i1" else "bool")
            if value.dtype != expected:
                raise ArgumentTypeError(
                    "%s: %s '%s' has dtype %s, expected %s (%s)" % (
                        self.name, role, tensor.name, value.dtype, expected,
                        tensor.describe()))
            return (value.data_ptr(), tuple(value.shape), value.stride(),
                    True)
        if not isinstance(value, numpy.ndarray):
            raise ArgumentTypeError(
                "%s: %s '%s' is a %s, expected a numpy array or a torch "
                "tensor (%s)" % (self.name, role, tensor.name,
                                 type(value).__name__, tensor.describe()))
        if value.dtype != tensor.numpy_dtype:
            raise ArgumentTypeError(
                "%s: %s '%s' has dtype %s, expected %s (%s)" % (
                    self.name, role, tensor.name, value.dtype,
                    tensor.numpy_dtype, tensor.describe()))
        itemsize = value.itemsize
        if any(s % itemsize for s in value.strides):
            raise ArgumentError(
                "%s: %s '%s' has strides %s that are not whole elements; "
                "pass a copy (numpy.ascontiguousarray)" % (
                    self.name, role, tensor.name, value.strides))
        return (value.ctypes.data, value.shape,
                tuple(s // itemsize for s in value.strides), False)

    def _layout(self, views, given_sizes, outs):
        """Checks the views against the declared types and binds the sizes;
        `outs` holds the views of `out=` (or None). Returns the C array of
        the sizes and the output shapes."""
        sizes = {}
        origin = {}
        for name, value in given_sizes.items():
            if isinstance(value, bool) or not isinstance(value, int) or \
                    value < 0:
                raise ArgumentError("%s: the size %s=%r must be a "
                                    "non-negative int" % (self.name, name,
                                                          value))
            sizes[name], origin[name] = value, "%s=%d" % (name, value)
        pairs = [(t, v, "input") for t, v in zip(self.inputs, views)]
        if outs is not None:
            pairs += [(t, v, "output") for t, v in zip(self.outputs, outs)]
        for tensor, view, role in pairs:
            if tensor.rank == 0:
                continue
            shape = view[1]
            if len(shape) != tensor.rank:
                raise ArgumentError(
                    "%s: %s '%s' has rank %d (shape %s), expected %s" % (
                        self.name, role, tensor.name, len(shape),
                        list(shape), tensor.describe()))
            for extent, actual in zip(tensor.shape, shape):
                symbol = extent.symbol
                if symbol is None or role == "output":
                    continue
                if symbol in sizes and sizes[symbol] != actual:
                    raise ArgumentError(
                        "%s: input '%s' (shape %s) gives %s = %d, but %s = %d "
                        "from %s" % (self.name, tensor.name, list(shape),
                                     symbol, actual, symbol, sizes[symbol],
                                     origin[symbol]))
                if symbol not in sizes:
                    sizes[symbol] = actual
                    origin[symbol] = "input '%s' (shape %s)" % (
                        tensor.name, list(shape))
        missing = [s for s in self.sizes if s not in sizes]
        if missing:
            raise ArgumentError(
                "%s: no value for the size%s %s: no input shape shows it; "
                "pass it by name (%s)" % (
                    self.name, "s" if len(missing) > 1 else "",
                    ", ".join("'%s'" % s for s in missing),
                    ", ".join("%s=..." % s for s in missing)))
        for tensor, view, role in pairs:
            if tensor.rank == 0:
                continue
            expected = [e.evaluate(sizes) for e in tensor.shape]
            if list(view[1]) != expected:
                raise ArgumentError(
                    "%s: %s '%s' has shape %s, expected %s = %s with %s" % (
                        self.name, role, tensor.name, list(view[1]),
                        format_shape(tensor.shape), expected,
                        ", ".join("%s=%d" % kv for kv in sorted(
                            sizes.items()))))
            self._check_strides(tensor, view, role)
        out_shapes = []
        for tensor in self.outputs:
            shape = tuple(e.evaluate(sizes) for e in tensor.shape)
            if any(d < 0 for d in shape):
                raise ArgumentError("%s: output '%s' would have the shape %s "
                                    "with these sizes" % (
                                        self.name, tensor.name, list(shape)))
            out_shapes.append(shape)
        size_values = (ctypes.c_int64 * max(1, len(self.sizes)))(
            *[sizes[s] for s in self.sizes])
        return size_values, out_shapes

    def _check_strides(self, tensor, view, role):
        shape, strides = view[1], view[2]
        if any(s < 0 for s in strides):
            raise ArgumentError(
                "%s: %s '%s' has a negative stride %s; pass a copy" % (
                    self.name, role, tensor.name, list(strides)))
        if shape[-1] > 1 and strides[-1] != 1:
            raise ArgumentError(
                "%s: %s '%s' has the innermost stride %d; its rows must be "
                "contiguous (pass a copy)" % (self.name, role, tensor.name,
                                              strides[-1]))
        if role == "output" and any(
                s == 0 and d > 1 for s, d in zip(strides, shape)):
            raise ArgumentError(
                "%s: output '%s' has a zero stride (a broadcast view) and "
                "cannot be written" % (self.name, tensor.name))

    def output_shapes(self, *args, **kwargs):
        """The output shapes of a call on these inputs, checked as a call
        checks them, without running it (a torch Meta kernel's work)."""
        if kwargs or len(args) != len(self.inputs):
            args, given_sizes = self._bind_arguments(args, kwargs)
        else:
            given_sizes = {}
        views = [None if t.rank == 0 else
                 self._view(t, v, "input", any_device=True)
                 for t, v in zip(self.inputs, args)]
        return self._layout(views, given_sizes, None)[1]

    @staticmethod
    def _strides_array(strides):
        return (ctypes.c_int64 * max(1, len(strides)))(*strides)

    # -- The call --------------------------------------------------------

    def __call__(self, *args, out=None, **kwargs):
        if kwargs or len(args) != self._num_inputs:
            args, given_sizes = self._bind_arguments(args, kwargs)
        else:
            given_sizes = None
        outs = None
        if out is not None:
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
        # The fast path: a plan for this layout of the arguments.
        key = [_key(a) for a in args]
        if outs is not None:
            key += [_key(o) for o in outs]
        if given_sizes:
            key.append(tuple(sorted(given_sizes.items())))
        key = tuple(key)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(args, given_sizes or {}, outs)
            if len(self._plans) >= 64:
                self._plans.clear()
            self._plans[key] = plan
        pointers = []
        scalars = []
        for value, how in zip(args, plan.inputs):
            if how is _NUMPY:
                pointers.append(_address(value))
            elif how is _TORCH:
                pointers.append(value.data_ptr())
            else:
                scalar = how(value)
                scalars.append(scalar)
                pointers.append(ctypes.addressof(scalar))
        if outs is None:
            if plan.as_torch:
                empty = _torch().empty
                results = [empty(shape, dtype=dtype) for shape, dtype in
                           zip(plan.out_shapes, plan.out_dtypes)]
                pointers += [r.data_ptr() for r in results]
            else:
                results = [numpy.empty(shape, dtype) for shape, dtype in
                           zip(plan.out_shapes, plan.out_dtypes)]
                pointers += [_address(r) for r in results]
        else:
            results = outs
            pointers += [o.data_ptr() if how is _TORCH else _address(o)
                         for o, how in zip(outs, plan.out_kinds)]
            self._check_overlaps(pointers, plan.spans)
        code = self._function(self._Pointers(*pointers), plan.strides,
                              plan.size_values)
        if code:
            self._raise_code(code)
        return results[0] if len(results) == 1 else tuple(results)

    def _plan(self, args, given_sizes, outs):
        """Checks the arguments (and `out=`) fully and makes their plan."""
        if self._unsupported is not None:
            raise ArgumentTypeError(
                "not supported yet: calling '%s' from Python with the %s "
                "tensor '%s'" % (self.name, self._unsupported.dtype,
                                 self._unsupported.name))
        views, kinds = [], []
        for tensor, value in zip(self.inputs, args):
            if tensor.rank == 0:
                kinds.append(self._scalar_type(tensor, value))
                views.append(None)
            else:
                view = self._view(tensor, value, "input")
                kinds.append(_TORCH if view[3] else _NUMPY)
                views.append(view)
        out_views = None
        if outs is not None:
            if len(outs) != len(self.outputs):
                raise ArgumentTypeError(
                    "%s: out= has %d arrays, expected %d (%s)" % (
                        self.name, len(outs), len(self.outputs),
                        ", ".join(t.describe() for t in self.outputs)))
            out_views = [self._view(t, o, "output")
                         for t, o in zip(self.outputs, outs)]
        size_values, out_shapes = self._layout(views, given_sizes, out_views)
        strides = [self._strides_array(v[2]) if v else None for v in views]
        spans = out_kinds = None
        if out_views is None:
            # New outputs are dense: null strides mean row-major.
            strides += [None] * len(self.outputs)
            as_torch = any(k is _TORCH for k in kinds)
            if as_torch:
                torch = _torch()
                out_dtypes = [getattr(torch, str(t.numpy_dtype)
                                      if t.dtype != "i1" else "bool")
                              for t in self.outputs]
            else:
                out_dtypes = [t.numpy_dtype for t in self.outputs]
        else:
            strides += [self._strides_array(v[2]) for v in out_views]
            as_torch, out_dtypes = False, None
            out_kinds = [_TORCH if v[3] else _NUMPY for v in out_views]
            spans = [None if v is None else _span(v, t.numpy_dtype.itemsize)
                     for t, v in zip(self.inputs, views)]
            spans += [_span(v, t.numpy_dtype.itemsize)
                      for t, v in zip(self.outputs, out_views)]
        strides_array = (_Int64Array * self._num_tensors)(
            *[ctypes.cast(s, _Int64Array) if s is not None else None
              for s in strides])
        return _Plan(size_values, strides_array, strides, kinds, out_shapes,
                     out_dtypes, as_torch, out_kinds, spans)

    def _check_overlaps(self, pointers, spans):
        """Outputs must not alias inputs or each other (the C functions do
        not check it)."""
        num_inputs = self._num_inputs
        for i in range(num_inputs, len(pointers)):
            span = spans[i]
            if span is None:
                continue
            start, stop = pointers[i], pointers[i] + span[1]
            for j, other in enumerate(spans):
                if j == i or other is None:
                    continue
                if start < pointers[j] + other[1] and pointers[j] < stop:
                    raise ArgumentError(
                        "%s: output '%s' overlaps %s '%s'; outputs must not "
                        "alias other arguments" % (
                            self.name, self.outputs[i - num_inputs].name,
                            "input" if j < num_inputs else "output",
                            (self.inputs + self.outputs)[j].name))

    def _scalar_type(self, tensor, value):
        """The ctypes type that passes a scalar input of this Python type,
        which a plan keys on."""
        torch = _torch()
        if isinstance(value, numpy.ndarray) or (
                torch is not None and isinstance(value, torch.Tensor)):
            if value.ndim != 0:
                raise ArgumentTypeError(
                    "%s: input '%s' has shape %s, expected a scalar (%s)" % (
                        self.name, tensor.name, list(value.shape),
                        tensor.describe()))
            value = value.item()
        is_float = tensor.dtype in ("f32", "f64")
        if tensor.dtype == "i1":
            ok = isinstance(value, (bool, numpy.bool_))
        elif is_float:
            ok = isinstance(value, (int, float, numpy.integer,
                                    numpy.floating)) and \
                not isinstance(value, (bool, numpy.bool_))
        else:
            ok = isinstance(value, (int, numpy.integer)) and \
                not isinstance(value, (bool, numpy.bool_))
        if not ok:
            raise ArgumentTypeError(
                "%s: input '%s' is a %s, expected a scalar (%s)" % (
                    self.name, tensor.name, type(value).__name__,
                    tensor.describe()))
        return _C_SCALARS[tensor.dtype]

    def _raise_code(self, code):
        reason = self._codes.get(str(code), "unknown")
        text = "the compiled '%s' " % self.name
        if reason == "check_failed":
            raise RuntimeCheckError(
                text + "failed a run-time check (code %d); run it with "
                "'attnc run --backend=interp' to see where" % code, code,
                reason)
        raise EntryError(text + "returned the error code %d (%s)" % (
            code, reason), code, reason)


class Module:
    """A loaded library: each entry is an attribute (`module.causal_mha`)
    and in `module.entries`, by name."""

    def __init__(self, directory, library_name):
        self.directory = directory
        self.library_path = os.path.join(directory, "lib%s.so" % library_name)
        self.header_path = os.path.join(directory, library_name + ".h")
        with open(os.path.join(directory, library_name + ".json")) as f:
            desc = json.load(f)
        if desc.get("format") != 1:
            raise EntryError("the library description %s has format %r; "
                             "this package reads format 1" % (
                                 library_name + ".json", desc.get("format")),
                             None, "format")
        self._cdll = ctypes.CDLL(self.library_path, mode=os.RTLD_LOCAL)
        codes = desc["error_codes"]
        self.entries = {}
        for entry in desc["entries"]:
            self.entries[entry["name"]] = Entry(self, entry, codes)

    def __getattr__(self, name):
        entries = self.__dict__.get("entries", {})
        if name in entries:
            return entries[name]
        raise AttributeError("the library has no entry '%s' (entries: %s)" % (
            name, ", ".join(entries) or "none"))

    def __dir__(self):
        return list(super().__dir__()) + list(self.entries)

    def __repr__(self):
        return "<attnc module %s: %s>" % (self.library_path,
                                          ", ".join(self.entries))
