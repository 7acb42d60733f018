"""Every attack of `python -m eval.redteam` against a real server, app and builds, with small models."""

from __future__ import annotations

import pytest

from core.settings import Settings
from eval.redteam import CASES, Target

pytestmark = pytest.mark.slow          # servers, the app and child processes, as an attacker would meet them

SLOW = ("serve-50-parallel", "planted-orders")      # every question through the LLM


@pytest.fixture(scope="module")
def target(tmp_path_factory, models_dir):
    # short answers: an obeyed order shows in the first words, and fifty queued questions finish sooner
    settings = Settings(models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2", llm="smollm2-135m",
                        checks="cited", max_answer_tokens=48)
    t = Target(settings, tmp_path_factory.mktemp("redteam"))
    yield t
    t.close()


@pytest.mark.parametrize("name", [n for n in CASES if n not in SLOW])
def test_attack_is_defended(target, name):
    defended, detail = CASES[name](target)
    assert defended, detail


@pytest.mark.slow
def test_no_held_out_planted_order_hijacks_an_answer_or_shows_on_screen(target):
    defended, detail = CASES["planted-orders"](target)
    assert defended, detail


@pytest.mark.slow
def test_fifty_parallel_questions_through_the_server_are_all_answered_or_clearly_refused(target):
    defended, detail = CASES["serve-50-parallel"](target)
    assert defended and "'lost': 0" in detail, detail
