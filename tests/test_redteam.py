"""Every attack of `python -m eval.redteam` against a real server, app and builds, with small models."""

from __future__ import annotations

import pytest

from eval.redteam import CASES, Target
from rag.settings import Settings

# the planted orders' figure is end to end through the LLM (`eval.injection`); here, that the guard does not
# recognise fewer of the held-out orders than when they were first measured
FLOOR = {"planted-orders": r"^(3[4-9]|4[0-9]) of 45 "}


@pytest.fixture(scope="module")
def target(tmp_path_factory, models_dir):
    settings = Settings(models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2", llm="smollm2-135m",
                        checks="cited")
    t = Target(settings, tmp_path_factory.mktemp("redteam"))
    yield t
    t.close()


@pytest.mark.parametrize("name", [n for n in CASES if n != "serve-50-parallel"])
def test_attack_is_defended(target, name):
    import re
    defended, detail = CASES[name](target)
    if name in FLOOR:
        assert re.match(FLOOR[name], detail), detail
    else:
        assert defended, detail


@pytest.mark.slow
def test_fifty_parallel_questions_through_the_server_are_all_answered_or_clearly_refused(target):
    defended, detail = CASES["serve-50-parallel"](target)
    assert defended and "'lost': 0" in detail, detail
