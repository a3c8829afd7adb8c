"""torch tensors as arguments, and attnc.torch.as_op, against torch."""

import math
import unittest

import support

support.use_private_cache()

import attnc  # noqa: E402

try:
    import torch
except ImportError:  # the package works without torch; these tests not
    torch = None


def causal_attention(q, k, v):
    """r01's causal_mha in torch, in float64."""
    q, k, v = (t.double() for t in (q, k, v))
    n, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def relative_error(got, expected):
    return float((got.double() - expected).abs().max() /
                 expected.abs().max())


@unittest.skipIf(torch is None, "torch is not installed")
class TorchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.module = attnc.compile(support.R01, entry="causal_mha")
        gen = torch.Generator().manual_seed(0)
        # [B, N, H, D] storage, viewed as [B, H, N, D].
        cls.qkv = [torch.randn(2, 70, 8, 64, generator=gen).transpose(1, 2)
                   for _ in range(3)]

    def test_tensors_in_and_out(self):
        q, k, v = self.qkv
        self.assertFalse(q.is_contiguous())
        out = self.module.causal_mha(q, k, v)
        self.assertIsInstance(out, torch.Tensor)
        self.assertEqual(tuple(out.shape), (2, 8, 70, 64))
        self.assertLess(relative_error(out, causal_attention(q, k, v)),
                        support.TOLERANCE)
        with self.assertRaisesRegex(attnc.ArgumentTypeError,
                                    "input 'q' has dtype torch.float64"):
            self.module.causal_mha(q.double(), k, v)

    def test_as_op(self):
        op = attnc.torch.as_op(self.module.causal_mha)
        self.assertIs(attnc.torch.as_op(self.module.causal_mha), op)
        self.assertEqual(attnc.torch.schema(self.module.causal_mha),
                         "causal_mha(Tensor q, Tensor k, Tensor v) -> Tensor")
        q, k, v = self.qkv

        class Layer(torch.nn.Module):
            def forward(self, x):
                return torch.ops.attnc.causal_mha(x, x, x) + x

        layer_out = Layer()(q)
        self.assertLess(relative_error(layer_out,
                                       causal_attention(q, q, q) + q.double()),
                        support.TOLERANCE)
        # Shapes propagate through the Meta kernel without a run.
        meta = op(*(torch.empty(1, 8, 9, 64, device="meta"),) * 3)
        self.assertEqual(meta.device.type, "meta")
        self.assertEqual(tuple(meta.shape), (1, 8, 9, 64))
        # No backward yet: an error, not a result without a gradient.
        with self.assertRaisesRegex(Exception, "not supported yet: the "
                                    "backward of attnc::causal_mha"):
            op(q.clone().requires_grad_(), k, v)
        with torch.no_grad():
            op(q.clone().requires_grad_(), k, v)
        other = attnc.compile(support.R01, entry="causal_mha", cpu="x86-64")
        with self.assertRaisesRegex(attnc.AttncError,
                                    "registered already"):
            attnc.torch.as_op(other.causal_mha)
        renamed = attnc.torch.as_op(other.causal_mha, name="mha_baseline")
        self.assertLess(relative_error(renamed(q, k, v),
                                       causal_attention(q, k, v)),
                        support.TOLERANCE)


if __name__ == "__main__":
    unittest.main()
