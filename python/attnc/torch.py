"""attnc entries as PyTorch operators.

    op = attnc.torch.as_op(module.causal_mha)     # torch.ops.attnc.causal_mha
    out = op(q, k, v)

The operator is defined with torch.library in the `attnc` namespace, with a
schema from the entry's description (tensors, `float`/`int`/`bool` for
scalar inputs, an `int` argument for each size no input shape shows), a CPU
kernel that calls the compiled entry, and a Meta kernel that computes the
output shapes from the formulas, so that shape propagation (meta tensors,
torch.compile's fake tensors) needs no run. CUDA kernels come with the GPU
back end. There is no backward yet: calling the operator on tensors that
require grad, with grad mode on, is an error rather than a result without
a gradient.
"""

import torch

from .errors import AttncError

_SCALAR_TYPES = {"f32": "float", "f64": "float", "i32": "int", "i64": "int",
                 "i1": "bool"}
_TORCH_DTYPES = {"f32": torch.float32, "f64": torch.float64,
                 "i32": torch.int32, "i64": torch.int64, "i1": torch.bool}

_library = None
# Operator name -> the entry it calls (so a second as_op is a look-up).
_registered = {}


def _namespace():
    global _library
    if _library is None:
        _library = torch.library.Library("attnc", "DEF")
    return _library


# torch 2's guard is a context manager; torch 1.13's a plain object that
# holds the exclusion while it lives. Decided once: it is on every call.
_GUARD_IS_CONTEXT = hasattr(torch._C._AutoDispatchBelowAutograd, "__enter__")


def _below_autograd(op, args):
    """Calls op(*args) with the Autograd dispatch keys excluded."""
    if _GUARD_IS_CONTEXT:
        with torch._C._AutoDispatchBelowAutograd():
            return op(*args)
    guard = torch._C._AutoDispatchBelowAutograd()
    try:
        return op(*args)
    finally:
        del guard


def _free_sizes(entry):
    """The sizes no input extent shows alone: extra int arguments."""
    shown = {e.symbol for t in entry.inputs for e in t.shape if e.symbol}
    return [s for s in entry.sizes if s not in shown]


def schema(entry, name=None):
    """The operator schema of `entry`: `NAME(Tensor q, ...) -> Tensor`."""
    args = []
    for t in entry.inputs:
        args.append("%s %s" % (_SCALAR_TYPES[t.dtype] if t.rank == 0
                               else "Tensor", t.name))
    args += ["int %s" % s for s in _free_sizes(entry)]
    results = ["Tensor"] * len(entry.outputs)
    returns = results[0] if len(results) == 1 else \
        "(" + ", ".join(results) + ")"
    return "%s(%s) -> %s" % (name or entry.name, ", ".join(args), returns)


def as_op(entry, name=None):
    """Registers `entry` (an attnc.Entry) as torch.ops.attnc.NAME (NAME is
    the entry's name unless given) and returns that operator."""
    name = name or entry.name
    previous = _registered.get(name)
    if previous is not None:
        if previous is entry:
            return getattr(torch.ops.attnc, name)
        raise AttncError("the operator attnc::%s is registered already for "
                         "another library; pass name= to as_op" % name)
    for t in entry.inputs + entry.outputs:
        if t.dtype not in _TORCH_DTYPES:
            raise AttncError("not supported yet: the %s tensor '%s' of '%s' "
                             "in a torch operator" % (t.dtype, t.name,
                                                      entry.name))
    library = _namespace()
    library.define(schema(entry, name))
    free = _free_sizes(entry)
    num_inputs = len(entry.inputs)

    def split(args):
        return args[:num_inputs], dict(zip(free, args[num_inputs:]))

    def cpu_kernel(*args):
        inputs, sizes = split(args)
        return entry(*inputs, **sizes)

    def meta_kernel(*args):
        inputs, sizes = split(args)
        shapes = entry.output_shapes(*inputs, **sizes)
        results = [torch.empty(shape, dtype=_TORCH_DTYPES[t.dtype],
                               device="meta")
                   for t, shape in zip(entry.outputs, shapes)]
        return results[0] if len(results) == 1 else tuple(results)

    def autograd_kernel(*args):
        if torch.is_grad_enabled() and any(
                isinstance(a, torch.Tensor) and a.requires_grad
                for a in args):
            raise AttncError("not supported yet: the backward of attnc::%s "
                             "(call it under torch.no_grad(), or on "
                             "tensors that do not require grad)" % name)
        return _below_autograd(op, args)

    library.impl(name, cpu_kernel, "CPU")
    library.impl(name, meta_kernel, "Meta")
    library.impl(name, autograd_kernel, "Autograd")
    _registered[name] = entry
    op = getattr(torch.ops.attnc, name)
    return op
