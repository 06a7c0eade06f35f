"""compare.py split into sets, metrics, leakage and checkpoints: every earlier name still imports from
compare, and labels reach evaluation and curation as files, never through the review package."""

import ast
from pathlib import Path

import pytest

OLD_NAMES = (
    "EvalSet", "EvaluationWarning", "MIN_DOCUMENTS", "MIN_TOKENS", "_sample", "load_eval_set", "_leakage",
    "check_base_matches", "_resolve_quant", "_clean", "summarize", "_score", "_document_rows", "_warn", "_out_dir",
    "_check_inputs", "_check_out", "evaluate", "run_evaluate", "_run_model", "_default_sets", "compare", "run_compare",
    "_token_documents", "_checkpoint_points", "compare_checkpoints", "list_checkpoints", "run_card_for",
    "weights_sha256", "DEFAULT_TEMPERATURES", "calibration_summary", "fit_temperature", "score_documents",
    "perplexity_interval", "ratio_interval", "paired_delta", "CorpusScore", "EvalConfig", "EvaluationResult", "emit",
)


def test_every_name_compare_had_still_imports_from_it():
    from workbench.evaluation import checkpoints, compare, leakage, metrics, sets

    missing = [name for name in OLD_NAMES if not hasattr(compare, name)]
    assert missing == []
    assert compare.EvalSet is sets.EvalSet and compare.load_eval_set is sets.load_eval_set
    assert compare._score is metrics.score and compare.summarize is metrics.summarize
    assert compare._leakage is leakage.eval_set_leakage
    assert compare.compare_checkpoints is checkpoints.compare_checkpoints


def test_the_moved_regression_scoring_still_imports_from_review():
    from workbench.evaluation import regression
    from workbench.review import regression as review_regression

    for name in ("log_likelihood", "score_cases", "regression_check", "regression_html", "_snippet"):
        assert getattr(review_regression, name) is getattr(regression, name)
    with pytest.raises(AttributeError):
        review_regression.not_a_name  # noqa: B018


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("stage", ["evaluation", "corpus"])
def test_the_evaluation_and_corpus_libraries_never_import_review(stage):
    """Labels reach them as files (a regression set, a drop list); only the CLI commands call review's export."""
    import workbench

    folder = Path(workbench.__file__).parent / stage
    offenders = {p.name: sorted(m for m in _imports(p) if m.startswith("workbench.review"))
                 for p in folder.glob("*.py") if p.name != "commands.py"}
    assert {k: v for k, v in offenders.items() if v} == {}
