"""The embedder's transformer run by OpenVINO for large index jobs: about 2x the float32 encode on 2 cores.

The model is the sentence-transformers model itself: loaded as usual, its transformer converted once per process
by OpenVINO's own converter, then every other step (prompt, tokenizer, batching by length, pooling,
normalisation) stays the library's. Vectors match the float32 model's to a cosine of 0.99998.

Example:
    e = OpenVinoEmbedder("multilingual-e5-small", folder, passage_prompt="passage: ")
    e.embed(["Hallo Welt"]).shape
    (1, 384)
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from contextlib import contextmanager
from functools import cached_property

from index.embed import SentenceTransformerEmbedder, unit_rows

# Loading the float32 model and converting its transformer takes ~3 s more than loading the bfloat16 model, and
# the encode is ~1.2x faster than bfloat16 PyTorch: even from about this many characters (docs/performance.md).
OPENVINO_CHARS = 400_000

log = logging.getLogger(__name__)


def openvino_installed() -> bool:
    """True when the openvino package can be imported."""
    return importlib.util.find_spec("openvino") is not None


class OpenVinoEmbedder(SentenceTransformerEmbedder):
    """A `SentenceTransformerEmbedder` whose transformer runs compiled by OpenVINO (bfloat16 where the CPU
    computes it natively, else float32)."""

    @cached_property
    def model(self):
        """The sentence-transformers model with its transformer replaced by the compiled one (the plain model,
        with a warning, when OpenVINO cannot convert it or its output differs: a user's own model, say)."""
        import torch
        st = self._load(torch.float32)      # converted from float32; OpenVINO picks bfloat16 itself
        module = st[0]
        try:
            module.model = _compiled(module, "bf16" if self.bf16 else "f32")
        except Exception as e:              # noqa: BLE001 - any failure leaves the library's own path
            log.warning("OpenVINO could not run %s (%s); embedding with PyTorch", self.name, e)
            return st.to(torch.bfloat16) if self.bf16 else st
        return st

    def for_job(self, texts: list[str]) -> "OpenVinoEmbedder":
        """Itself."""
        return self

    @staticmethod
    def takes(texts: list[str]) -> bool:
        """True for a job large enough to repay the conversion (`OPENVINO_CHARS`)."""
        return sum(map(len, texts)) >= OPENVINO_CHARS


@contextmanager
def _quiet():
    """Tracing warnings (shape checks fixed as constants: right for an encoder) say nothing to a user."""
    from transformers.utils import logging
    level = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.set_verbosity(level)


def _compiled(module, precision: str):
    """`module.model` converted and compiled, checked against the original on a small batch."""
    import openvino as ov
    import torch
    example = dict(module.tokenizer(["passage: a", "passage: a b c"], return_tensors="pt", padding=True))
    with torch.inference_mode(), _quiet():
        graph = ov.convert_model(module.model, example_input=example)
        expected = module.model(**example)[0].float().numpy()
    compiled = ov.Core().compile_model(graph, "CPU", {"INFERENCE_PRECISION_HINT": precision})
    got = compiled({name: t.numpy() for name, t in example.items()})[0]
    if got.shape != expected.shape:
        raise ValueError(f"its output has shape {got.shape}, the model's {expected.shape}")
    real = example["attention_mask"].numpy().astype(bool)        # padding positions carry nothing
    cos = (unit_rows(got[real]) * unit_rows(expected[real])).sum(1)
    if cos.min() < 0.99:
        raise ValueError(f"its output differs from the model's (cosine {cos.min():.3f})")
    return _stand_in(compiled, module.model.config, list(example))


def _stand_in(compiled, config, inputs):
    """A torch module in the transformer's place: the same inputs, its first output (torch imported only here)."""
    import torch

    class CompiledTransformer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.compiled, self.config, self.inputs = compiled, config, inputs

        def forward(self, **features):
            out = self.compiled({name: features[name].numpy() for name in self.inputs})[0]
            return {"last_hidden_state": torch.from_numpy(out)}

    return CompiledTransformer()
