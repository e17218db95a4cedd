"""Policy optimisation: search a hedging policy's parameters on simulated paths.

- config.py: reading the `optimize:` section of a simulation config into an OptimizeSetup;
- search.py: the objective, the grid, its refinement, the frontier and the choice (`optimize`);
- policy_file.py: the chosen policy as a policy document for `hedgecore hedge --policy`.
"""

from __future__ import annotations

from hedgecore.optimize.config import (
    MAX_BATCH_SIZE,
    MAX_REFINE,
    MAX_REFINE_POINTS,
    MAX_SEARCH_VALUES,
    OptimizeSetup,
    parse_optimize_section,
)
from hedgecore.optimize.policy_file import _duration_text as _duration_text  # tests read it
from hedgecore.optimize.policy_file import merge_policy_document, policy_document
from hedgecore.optimize.search import (
    INTEGER_PARAMETERS,
    OBJECTIVES,
    SEARCHABLE,
    Candidate,
    Objective,
    ObjectiveKind,
    OptimizeResult,
    Simulator,
    candidate_policies,
    grid_size,
    optimize,
    optimize_work,
)
from hedgecore.optimize.search import (
    _refined_values as _refined_values,  # tests read it
)

__all__ = [
    "INTEGER_PARAMETERS",
    "MAX_BATCH_SIZE",
    "MAX_REFINE",
    "MAX_REFINE_POINTS",
    "MAX_SEARCH_VALUES",
    "OBJECTIVES",
    "SEARCHABLE",
    "Candidate",
    "Objective",
    "ObjectiveKind",
    "OptimizeResult",
    "OptimizeSetup",
    "Simulator",
    "candidate_policies",
    "grid_size",
    "merge_policy_document",
    "optimize",
    "optimize_work",
    "parse_optimize_section",
    "policy_document",
]
