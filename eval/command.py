"""`rag eval` as a command of the `rag` CLI, registered through the `rag_news.commands` entry point.

The `rag` command finds its plugins by that entry-point group (pyproject.toml), so the product never imports
the evaluation code, and a command's options are declared here without loading it.
"""

from __future__ import annotations

NAME = "eval"
HELP = "measure retrieval, answers, citations and latency on a QA set"
DEFAULT_SET = "sample-heldout"


def add_arguments(p) -> None:
    """The `rag eval` options."""
    from eval.sets import SETS
    p.add_argument("qaset", nargs="?", help=f"a QA set by name ({', '.join(SETS)}) or a JSONL file "
                   f"(default: {DEFAULT_SET})")
    p.add_argument("--index", dest="index_dir", help="index to ask (default: the bundled articles')")
    p.add_argument("--out", help="report folder (default: eval/reports/<set name>)")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions")
    p.add_argument("--compare", help="an earlier report folder (or its metrics.json) to compare with")
    p.add_argument("--squad", nargs="+", metavar="FILE", help="SQuAD-format files instead of a QA set")
    p.add_argument("--corpus-from-contexts", action="store_true",
                   help="with --squad: index the files' paragraphs as the documents")
    p.add_argument("--contexts", help="with --squad: take paragraphs from this file (default: the first --squad file)")
    p.add_argument("--retrieval-only", action="store_true", help="skip answering: retrieval metrics only (fast)")
    p.add_argument("--evidence-only", action="store_true",
                   help="no LLM: build what the model would be shown and report evidence recall (fast)")
    p.add_argument("--reference", action="store_true",
                   help="also answer each question with the fair reference (top-4 chunks, plain prompt, same models)")
    p.add_argument("--reference-every", type=int, default=1, metavar="N",
                   help="with --reference: the reference answers every Nth question only (the comparison is made "
                        "on those)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")



def run(args, settings) -> int:
    """Run the evaluation the parsed `args` describe."""
    from eval.harness import main
    return main(args, settings)
