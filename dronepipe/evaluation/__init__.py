"""Evaluation of a processed flight against the simulator's truth.

``evaluate(result_dir, truth_dir) -> Evaluation``: mosaic georeferencing error (robust
RMSE of many window registrations against the true orthophoto), temperature error of
the thermal mosaic, hotspot recall, precision, position error and false alarms per
hectare. See ``dronepipe.evaluation.evaluate``.
"""

from __future__ import annotations

from dronepipe.evaluation.evaluate import EvalConfig, Evaluation, evaluate

__all__ = ["EvalConfig", "Evaluation", "evaluate"]
