"""Sub-commands of ``vqseg`` that the evaluation package implements."""
