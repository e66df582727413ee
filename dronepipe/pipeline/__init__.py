"""The after-flight job (``dronepipe process``) composed of the stage functions; the
per-frame stages here (placement, loading, hotspot observation) are shared with the
live mode."""

from dronepipe.pipeline.config import ProcessConfig
from dronepipe.pipeline.process import process
from dronepipe.pipeline.products import ProcessResult

__all__ = ["ProcessConfig", "ProcessResult", "process"]
