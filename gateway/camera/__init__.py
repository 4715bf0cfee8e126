"""Door cameras: frames analysed off the event loop, verdicts into the pipeline, evidence kept."""
